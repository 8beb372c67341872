"""The model file of a trained run (``results/train/<run>/model.pt``): every network of the run with its
model name and hyperparameters, so that it can be rebuilt without the config.

Example:
    >>> save_networks("model.pt", "unet-denoising-all", "unet", {"channels": 16}, {"": network})
    >>> networks = load_networks("model.pt")  # {"": UNet(...)} in eval mode
"""

from __future__ import annotations

import os
from typing import Any

import torch

from neuroicl.core.io import atomic_path
from neuroicl.models.base import TrainablePredictor
from neuroicl.models.factory import build_model


def save_networks(path: str | os.PathLike, run: str, model: str, hparams: dict[str, Any],
                  networks: dict[str, torch.nn.Module]) -> None:
    """Write the model file atomically (the last file a training job writes).

    Args:
        path: the model file.
        run: the run's name; model: its model name (:data:`neuroicl.models.factory.MODELS`).
        hparams: the model's hyperparameters (fields of its config dataclass).
        networks: the trained networks by label ("" for a run with one network).
    """
    payload = {
        "run": run,
        "model": model,
        "hparams": hparams,
        "networks": {label: {k: v.cpu() for k, v in net.state_dict().items()} for label, net in networks.items()},
    }
    with atomic_path(path) as temporary:
        torch.save(payload, temporary)


def load_networks(path: str | os.PathLike, device: torch.device | str = "cpu") -> dict[str, TrainablePredictor]:
    """The networks of a model file, in eval mode on ``device``, keyed by label."""
    payload = torch.load(path, map_location="cpu", weights_only=False)
    networks = {}
    for label, state in payload["networks"].items():
        model = build_model(payload["model"], generator=torch.Generator(), device=device, **payload["hparams"])
        model.load_state_dict(state)
        networks[label] = model.eval()
    return networks
