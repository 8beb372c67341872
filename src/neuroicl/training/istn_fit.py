"""Training of ISTN's study jobs (Robinson et al. 2020, Sec. 2 "Downstream Tasks"): the source task model T_S, and
one adaptation — an ISTN trained adversarially with the task models T_S2T retrained on its output.

**One adaptation trains every init at once** (ours). Steps (a) and (b) of an iteration
(:mod:`neuroicl.training.istn`) never read the task model, so the ISTN's trajectory does not depend on it: the task
models of the inits (from scratch; fine-tuned from T_S) are each updated by step (c) on the same transformed batch.
This is the paper's two runs with the same ISTN draws — a matched comparison — at the cost of one ISTN.

**Model selection** (every ``select_every`` steps and at the end): each task model is scored on the *source*
selection images (``istn.selection``, the validation split) transformed by the ISTN at that step (eval mode; masks
warped by its displacement); the best step's task model and ISTN are kept. T_S is selected on the untransformed
selection images. No target label exists here: target images arrive as
:class:`~neuroicl.training.istn.TargetImages`.

**Schedules**: T_S trains at a constant learning rate, as the paper's code; in an adaptation every Adam's learning
rate decays by a cosine from its value to ``min_lr_fraction`` of it (ours: at demo scale, with a constant task lr the
retrained model's target Dice swung by up to 0.15 between selection steps, docs/models.md).

**Determinism**: weights from ``(seed, job)``; each step's batch indices, dropout
masks and soft labels from ``(seed, job, step)``; a resumed job (checkpoint every ``checkpoint_every`` steps) repeats
an uninterrupted one exactly on the CPU; the global RNG is never read.

Example:
    >>> model, log = train_source("segmentation", train, selection, 3, settings, store, "source")
    >>> models, log = adapt("segmentation", "itn+affine", "uni", train, selection, target, {"scratch": None},
    ...                     settings, store, "adapt")
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from neuroicl.data.domains import DomainImages, LabelledDomain
from neuroicl.models.istn import ISTN, to_istn_space, warp_with_field
from neuroicl.models.istn_file import ISTNModel
from neuroicl.models.istn_tasks import (
    AgeScale,
    build_task_model,
    predict,
    selection_score,
    subject_scores,
    training_targets,
)
from neuroicl.tasks.episodes import stable_seed
from neuroicl.training.checkpoint import CheckpointStore
from neuroicl.training.istn import (
    TASK_BETAS,
    TASK_OBJECTIVES,
)
from neuroicl.training.optimizers import adam_kernel

_log = logging.getLogger(__name__)

#: The objective of each task (:data:`neuroicl.training.istn.TASK_OBJECTIVES`).
OBJECTIVES = {"sex": "classification", "age": "regression", "segmentation": "segmentation"}


@dataclass(frozen=True)
class FitSettings:
    """The study's training settings (``istn`` block, with ``training.seed``, ``checkpoint_every``, ``log_every``).

    Attributes:
        batch_size: source (and target) images per step.
        source_steps, source_lr: T_S's Adam steps and learning rate.
        steps: adaptation iterations; lr: Adam lr of the ISTN(s) and discriminator(s); task_lr: the task models'.
        identity_weight: lambda of Eqs. (2)-(3).
        select_every: steps between model selections.
        select_from: the first step a selection may keep (adaptation; ours: before it the ISTN is still near the
            identity, where a model fine-tuned from T_S scores best on the untransformed-looking source images).
        hyperparameters: ``istn.hyperparameters``.
        min_lr_fraction: the cosine's end, as a fraction of each learning rate.
    """

    batch_size: int
    source_steps: int
    source_lr: float
    steps: int
    lr: float
    task_lr: float
    identity_weight: float
    select_every: int
    select_from: int
    hyperparameters: dict[str, Any]
    seed: int = 0
    checkpoint_every: int = 50
    log_every: int = 10
    min_lr_fraction: float = 0.05

    def __post_init__(self) -> None:
        for key in ("batch_size", "source_steps", "steps", "select_every", "checkpoint_every", "log_every"):
            if getattr(self, key) < 1:
                raise ValueError(f"istn: {key} must be >= 1, got {getattr(self, key)}")
        if min(self.source_lr, self.lr, self.task_lr) <= 0 or self.identity_weight < 0:
            raise ValueError("istn: learning rates must be > 0 and identity_weight >= 0")
        if not 0 <= self.select_from <= self.steps:
            raise ValueError(f"istn.adaptation.select_from must be in [0, steps = {self.steps}], "
                             f"got {self.select_from}")

    @classmethod
    def of(cls, settings: Mapping[str, Any]) -> FitSettings:
        """From :attr:`neuroicl.plan.istn_study.ISTNStudy.settings`."""
        source, adaptation = settings["source"], settings["adaptation"]
        return cls(int(settings["batch_size"]), int(source["steps"]), float(source["lr"]), int(adaptation["steps"]),
                   float(adaptation["lr"]), float(adaptation["task_lr"]), float(adaptation["identity_weight"]),
                   int(adaptation["select_every"]), int(adaptation["select_from"]),
                   dict(settings["hyperparameters"]), int(settings["seed"]), int(settings["checkpoint_every"]),
                   int(settings["log_every"]))

    def factor(self, step: int, steps: int) -> float:
        """The learning-rate factor of step ``step`` (0-based) of ``steps``: cosine from 1 to ``min_lr_fraction``."""
        return self.min_lr_fraction + (1 - self.min_lr_fraction) * 0.5 * (1 + math.cos(math.pi * step / steps))


@dataclass(frozen=True)
class Tensors:
    """A labelled domain on the device: ``images`` in ISTN space (channels-last), the loss's ``targets``, the raw
    ``labels`` (scores) and ``subjects``."""

    images: Tensor
    targets: Tensor
    labels: Tensor
    subjects: np.ndarray


def images_on(domain: DomainImages, device: torch.device) -> Tensor:
    """A domain's images in ISTN space ``[N, C, H, W]`` on ``device``, channels-last (faster convolutions)."""
    return to_istn_space(torch.from_numpy(domain.images).to(device)).contiguous(memory_format=torch.channels_last)


def tensors_on(task: str, domain: LabelledDomain, scale: AgeScale, device: torch.device) -> Tensors:
    labels = torch.from_numpy(domain.labels).to(device)
    return Tensors(images_on(domain, device), training_targets(task, labels, scale), labels, domain.subjects)


def generators(seed: int, job: str, step: int, device: torch.device) -> tuple[np.random.Generator, torch.Generator]:
    """The batch RNG and the torch generator of one step (dropout masks, soft labels)."""
    rng = np.random.default_rng([seed, step, stable_seed("istn", job) >> 32])
    return rng, torch.Generator(device=device).manual_seed(stable_seed("istn", job, seed, step))


@torch.no_grad()
def transformed(istn: ISTN | None, data: Tensors, task: str, batch_size: int = 64) -> tuple[Tensor, Tensor]:
    """The selection images S2T and their labels (masks warped by the displacement) under ``istn`` in eval mode
    (restored after); the data as they are without an ISTN."""
    if istn is None:
        return data.images, data.labels
    was = istn.training
    istn.eval()
    images, labels = [], []
    for start in range(0, len(data.images), batch_size):
        out, field = istn(data.images[start:start + batch_size])
        images.append(out)
        if task == "segmentation":
            masks = data.labels[start:start + batch_size].float()
            labels.append((warp_with_field(masks, field) > 0.5).to(data.labels.dtype))
    istn.train(was)
    return torch.cat(images), torch.cat(labels) if labels else data.labels


def select(task: str, model: nn.Module, images: Tensor, labels: Tensor, subjects: np.ndarray,
           scale: AgeScale) -> float:
    """The selection score (higher is better) of ``model`` on (transformed) selection images."""
    return selection_score(task, subject_scores(task, predict(model, images), labels, subjects, scale))


def set_lr(optimizer: torch.optim.Optimizer, lr: float, factor: float) -> None:
    """Every parameter group of ``optimizer`` at learning rate ``lr * factor``."""
    for group in optimizer.param_groups:
        group["lr"] = lr * factor


def log_row(step: int, sums: dict[str, float], count: int, lr: float, seconds: float, **extra: float) -> dict:
    """One row of a job's log: the step's mean losses over ``count`` steps, lr, seconds and ``extra`` values."""
    return {"step": step, **{k: v / max(count, 1) for k, v in sums.items()}, "lr": lr, "seconds": seconds, **extra}


def train_source(task: str, train: LabelledDomain, selection: LabelledDomain, classes: int, settings: FitSettings,
                 store: CheckpointStore, job: str = "source", device: torch.device | str = "cpu",
                 progress: bool = True) -> tuple[ISTNModel, list[dict[str, Any]]]:
    """Train T_S on the source training slices (Adam at a constant ``source_lr``, as the paper's code), selected on
    the source selection slices; resume from ``store``. Returns the model (selected step) and the log rows."""
    device = torch.device(device)
    scale = AgeScale.of(train.labels) if task == "age" else AgeScale()
    data, chosen = tensors_on(task, train, scale, device), tensors_on(task, selection, scale, device)
    hparams, channels = settings.hyperparameters, train.images.shape[1]
    init = torch.Generator(device=device).manual_seed(stable_seed("istn-init", job, settings.seed))
    model = build_task_model(task, channels, classes, hparams, init, device).to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.source_lr, betas=TASK_BETAS, **adam_kernel(device))
    objective = TASK_OBJECTIVES[OBJECTIVES[task]]
    start, log, best = 0, [], {"score": -math.inf, "step": 0, "task": None}
    state = store.latest()
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start, log, best = state["step"], state["log"], state["best"]
        _log.info("%s: resuming from step %d", job, start)
    sums, count, pending, clock = {"task": 0.0}, 0, {}, time.perf_counter()
    elapsed = log[-1]["seconds"] if log else 0.0
    for step in tqdm(range(start, settings.source_steps), initial=start, total=settings.source_steps, desc=job,
                     disable=not progress, mininterval=5.0):
        rng, _ = generators(settings.seed, job, step, device)
        rows = torch.as_tensor(rng.integers(len(data.images), size=settings.batch_size), device=device)
        model.train()
        loss = objective.loss(model(data.images[rows]), data.targets[rows])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        sums["task"], count, done = sums["task"] + float(loss.detach()), count + 1, step + 1
        if done % settings.select_every == 0 or done == settings.source_steps:
            score = select(task, model, chosen.images, chosen.labels, chosen.subjects, scale)
            pending["selection"] = score
            if score > best["score"]:
                best = {"score": score, "step": done, "task": copy.deepcopy(model.state_dict())}
        if done % settings.log_every == 0 or done == settings.source_steps:
            now = time.perf_counter()
            elapsed, clock = elapsed + now - clock, now
            log.append(log_row(done, sums, count, optimizer.param_groups[0]["lr"], elapsed, **pending))
            sums, count, pending = {"task": 0.0}, 0, {}
        if done % settings.checkpoint_every == 0 or done == settings.source_steps:
            store.save(done, {"step": done, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                              "log": log, "best": best})
    model.load_state_dict(best["task"])
    return ISTNModel(task, channels, classes, hparams, train.images.shape[-1], model.eval(), scale,
                     selected_step=best["step"], selection_score=best["score"], label_sites=[train.site]), log
