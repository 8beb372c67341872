"""The model file of an ISTN study job (``results/train/istn/.../model.pt``): the selected task model, for an adapted
model its ISTN(s), and what rebuilding them needs, so that evaluation and the figure read no config.

Example:
    >>> save_istn_model("model.pt", ISTNModel("age", 1, 0, hparams, 48, task=net, age_scale=AgeScale(50, 15)))
    >>> loaded = load_istn_model("model.pt")  # networks in eval mode
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from neuroicl.core.io import atomic_path
from neuroicl.models.istn import ISTN, ISTNConfig
from neuroicl.models.istn_tasks import AgeScale, build_task_model


@dataclass
class ISTNModel:
    """A trained task model T_S (``istn`` None) or T_S2T with the ISTN S -> T (and T -> S, bi-directional).

    Attributes:
        task: the downstream task; channels: C; classes: K (segmentation, else 0).
        hyperparameters: ``istn.hyperparameters`` (the networks' widths).
        image_size: H = W of the slices.
        task_model: the selected task model.
        age_scale: the age target's standardisation (age only).
        mode: the ISTN mode (adapted models); istn, reverse: the ISTN(s) at the selected step.
        selected_step: the step whose task model was kept; selection_score: its score on the selection images.
        label_sites: the sites whose labels the job read (the source alone: checked by the claims).
    """

    task: str
    channels: int
    classes: int
    hyperparameters: dict[str, Any]
    image_size: int
    task_model: nn.Module
    age_scale: AgeScale = field(default_factory=AgeScale)
    mode: str | None = None
    istn: ISTN | None = None
    reverse: ISTN | None = None
    selected_step: int = 0
    selection_score: float = float("nan")
    label_sites: list[str] = field(default_factory=list)


def istn_config(mode: str, channels: int, image_size: int, hyperparameters: dict[str, Any]) -> ISTNConfig:
    """The :class:`ISTNConfig` of ``mode`` from ``istn.hyperparameters``."""
    return ISTNConfig(mode=mode, image_size=image_size, features=int(hyperparameters["features"]), channels=channels,
                      dropout=float(hyperparameters["dropout"]), spacing=int(hyperparameters["spacing"]),
                      max_displacement=float(hyperparameters["max_displacement"]))


def save_istn_model(path: str | os.PathLike, model: ISTNModel) -> None:
    """Write the model file atomically (the last file a job writes)."""
    payload = {key: getattr(model, key) for key in ("task", "channels", "classes", "hyperparameters", "image_size",
                                                    "mode", "selected_step", "selection_score", "label_sites")}
    payload["age_scale"] = {"mean": model.age_scale.mean, "sd": model.age_scale.sd}
    for key in ("task_model", "istn", "reverse"):
        network = getattr(model, key)
        payload[key] = None if network is None else {k: v.cpu() for k, v in network.state_dict().items()}
    with atomic_path(path) as temporary:
        torch.save(payload, temporary)


def load_istn_model(path: str | os.PathLike, device: torch.device | str = "cpu") -> ISTNModel:
    """The networks of a model file, in eval mode on ``device``."""
    payload = torch.load(path, map_location="cpu", weights_only=False)
    generator = torch.Generator()
    task = build_task_model(payload["task"], payload["channels"], payload["classes"], payload["hyperparameters"],
                            generator, device)
    task.load_state_dict(payload["task_model"])
    networks = {}
    for key in ("istn", "reverse"):
        if payload[key] is not None:
            config = istn_config(payload["mode"], payload["channels"], payload["image_size"],
                                 payload["hyperparameters"])
            networks[key] = ISTN(config, generator=generator, device=device)
            networks[key].load_state_dict(payload[key])
            networks[key].eval()
    return ISTNModel(payload["task"], payload["channels"], payload["classes"], payload["hyperparameters"],
                     payload["image_size"], task.eval(), AgeScale(**payload["age_scale"]), payload["mode"],
                     networks.get("istn"), networks.get("reverse"), payload["selected_step"],
                     payload["selection_score"], list(payload["label_sites"]))
