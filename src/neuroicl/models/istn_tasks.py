"""ISTN's downstream task models, their predictions per subject, and the model file of the study's jobs.

Task models read ISTN space (:func:`neuroicl.models.istn.to_istn_space`), ``[B, C, H, W]``:

* ``sex``: :class:`~neuroicl.models.istn_critics.TaskCNN` with 2 logits (cross-entropy, Sec. 2 "Task models");
* ``age``: the same CNN with 1 output, the age standardised by the source training slices' mean and sd
  (:class:`AgeScale`; MSE, Sec. 2) and mapped back to years for scores;
* ``segmentation``: the comparison's task-specific U-Net (:class:`~neuroicl.models.unet.UNet`) as an image model,
  :class:`ImageUNet`: K <= 3 sigmoid channels, one per class (ours: the paper has no segmentation task).

Slices are scored per subject (ours: the paper's 3-D volumes are one prediction each): the subject's slice outputs
are averaged (class probabilities, ages) for ``sex`` (``accuracy``: 1 if right) and ``age`` (``mae``: absolute error in
years); ``segmentation`` scores ``dice`` of each class over the subject's slice stack, averaged over the classes.
:func:`selection_score` is the higher-is-better score of a set of subjects (mean accuracy, mean Dice, -MAE).

Example:
    >>> model = build_task_model("age", channels=1, classes=0, hyperparameters={"task": 8}, generator=g)
    >>> scores = subject_scores("age", predict(model, images), ages, subjects, AgeScale(50.0, 15.0))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from neuroicl.models.base import IMAGE_CHANNELS
from neuroicl.models.istn_critics import TaskCNN, TaskCNNConfig
from neuroicl.models.unet import UNet, UNetConfig

#: Each task's subject-level metric and whether higher is better.
METRICS = {"sex": ("accuracy", True), "age": ("mae", False), "segmentation": ("dice", True)}


class ImageUNet(nn.Module):
    """The in-context interface's U-Net as an image model ``[B, C, H, W] -> [B, K, H, W]`` raw outputs: the C <= 3
    input channels zero-padded to its 3, an empty context (L = 0), its first K outputs."""

    def __init__(self, unet: UNet, channels: int, classes: int) -> None:
        super().__init__()
        if not 1 <= channels <= IMAGE_CHANNELS or not 1 <= classes <= IMAGE_CHANNELS:
            raise ValueError(f"ImageUNet: channels and classes must be in 1..{IMAGE_CHANNELS}, got {channels}, "
                             f"{classes}")
        self.unet, self.channels, self.classes = unet, channels, classes

    def forward(self, u: Tensor) -> Tensor:
        b, c, h, w = u.shape
        if c != self.channels:
            raise ValueError(f"ImageUNet was built for {self.channels} channels, got {c}")
        padded = torch.cat([u, u.new_zeros(b, IMAGE_CHANNELS - c, h, w)], dim=1) if c < IMAGE_CHANNELS else u
        empty = u.new_zeros(b, 0, IMAGE_CHANNELS, h, w)
        return self.unet(padded, empty, empty)[:, : self.classes]


def build_task_model(task: str, channels: int, classes: int, hyperparameters: Mapping[str, Any],
                     generator: torch.Generator | None = None, device: torch.device | str = "cpu") -> nn.Module:
    """The task model of ``task`` (module docstring) for ``channels`` inputs (``classes``: segmentation only);
    ``hyperparameters``: ``task`` (the CNN's nf) and ``unet`` (fields of :class:`UNetConfig`)."""
    if task in ("sex", "age"):
        config = TaskCNNConfig(outputs=2 if task == "sex" else 1, features=int(hyperparameters["task"]),
                               channels=channels)
        return TaskCNN(config, generator=generator, device=device)
    if task == "segmentation":
        unet = UNet(UNetConfig(**hyperparameters["unet"]), generator=generator, device=device)
        return ImageUNet(unet, channels, classes)
    raise ValueError(f"ISTN task must be one of {sorted(METRICS)}, got {task!r}")


@dataclass(frozen=True)
class AgeScale:
    """The standardisation of the age target: ``z = (age - mean) / sd`` (source training slices)."""

    mean: float = 0.0
    sd: float = 1.0

    @classmethod
    def of(cls, ages: np.ndarray) -> AgeScale:
        return cls(float(np.mean(ages)), float(max(np.std(ages), 1e-3)))


def training_targets(task: str, labels: Tensor, scale: AgeScale) -> Tensor:
    """What the loss compares outputs with: class ids, standardised ages, or masks as float."""
    if task == "age":
        return (labels.float() - scale.mean) / scale.sd
    return labels if task == "sex" else labels.float()


@torch.no_grad()
def predict(model: nn.Module, images: Tensor, batch_size: int = 64) -> Tensor:
    """Per-slice outputs of ``model`` (eval mode, restored after): class probabilities ``[N, 2]``, standardised ages
    ``[N, 1]`` or mask probabilities ``[N, K, H, W]`` (sigmoid of the raw outputs, or softmax for 2 logits)."""
    was = model.training
    model.eval()
    outputs = []
    for start in range(0, len(images), batch_size):
        raw = model(images[start:start + batch_size]).float()
        outputs.append(raw if raw.ndim == 2 and raw.shape[1] == 1 else
                       torch.softmax(raw, dim=1) if raw.ndim == 2 else torch.sigmoid(raw))
    model.train(was)
    return torch.cat(outputs)


def subject_scores(task: str, outputs: Tensor, labels: Tensor, subjects: np.ndarray,
                   scale: AgeScale | None = None) -> dict[str, float]:
    """Subject -> its score (:data:`METRICS`): ``outputs`` of :func:`predict`, ``labels`` the slices' labels."""
    scores = {}
    for subject in dict.fromkeys(subjects.tolist()):
        mine = torch.as_tensor(subjects == subject, device=outputs.device)
        out, truth = outputs[mine], labels[mine].to(outputs.device)
        if task == "sex":
            scores[subject] = float(out.mean(dim=0).argmax() == truth[0])
        elif task == "age":
            scale = scale or AgeScale()
            scores[subject] = abs(float(out.mean()) * scale.sd + scale.mean - float(truth[0]))
        else:
            p, q = out > 0.5, truth > 0.5
            intersection = (p & q).sum(dim=(0, 2, 3)).float()
            total = (p.sum(dim=(0, 2, 3)) + q.sum(dim=(0, 2, 3))).float()
            dice = torch.where(total > 0, 2 * intersection / total.clamp_min(1), torch.ones_like(total))
            scores[subject] = float(dice.mean())
    return scores


def selection_score(task: str, scores: Mapping[str, float]) -> float:
    """The mean subject score, negated for MAE: higher is better for every task."""
    mean = float(np.mean(list(scores.values())))
    return mean if METRICS[task][1] else -mean
