"""The model file of a trained run (``results/train/<run>/model.pt``): every network of the run with its
model name and hyperparameters, so that it can be rebuilt without the config, and (files written since
``neuroicl predict``) what prediction on new volumes needs: the preprocessing settings (grid, slice axis,
normalisation, ...), the run's tasks, whether it reads the context, and the segmentation classes of its
per-label networks (:func:`prediction_info`; older files have none and need the config).

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
from neuroicl.plan.runs import Run

#: Version of the ``prediction`` block of a model file (:func:`prediction_info`).
PREDICTION_VERSION = 1


def prediction_info(run: Run, config: dict[str, Any]) -> dict[str, Any]:
    """What ``neuroicl predict`` needs besides the weights, from the run and the config parts it reads.

    Keys: ``version``; ``tasks`` (the run's evaluated tasks); ``in_context`` (False: the model ignores the
    context); ``per_label`` (one network per segmentation class); ``max_context`` (None: any L);
    ``preprocess`` (the config's ``preprocess`` block: registration, skull strip, N4, normalisation, grid,
    slices); ``labels`` (evaluation class name -> label ids); ``reference`` (the config's ``reference``
    block, ``builtin`` when the config part has none).
    """
    return {
        "version": PREDICTION_VERSION,
        "tasks": list(run.eval_tasks),
        "in_context": run.in_context,
        "per_label": run.per_label,
        "max_context": run.max_context,
        "preprocess": config["preprocess"],
        "labels": {name: list(ids) for name, ids in config["evaluation"]["labels"].items()},
        "reference": dict(config.get("reference") or {}),
    }


def save_networks(path: str | os.PathLike, run: str, model: str, hparams: dict[str, Any],
                  networks: dict[str, torch.nn.Module], prediction: dict[str, Any] | None = None,
                  extras: dict[str, Any] | None = None) -> None:
    """Write the model file atomically (the last file a training job writes).

    Args:
        path: the model file.
        run: the run's name; model: its model name (:data:`neuroicl.models.factory.MODELS`).
        hparams: the model's hyperparameters (fields of its config dataclass).
        networks: the trained networks by label ("" for a run with one network).
        prediction: what prediction on new volumes needs (:func:`prediction_info`); None writes none.
        extras: what else the trainer keeps, by key (MetaSeg: ``start``, its shared start; read by
            :func:`read_payload`); a key may not be one of the file's own.
    """
    payload = {
        "run": run,
        "model": model,
        "hparams": hparams,
        "networks": {label: {k: v.cpu() for k, v in net.state_dict().items()} for label, net in networks.items()},
    }
    if prediction is not None:
        payload["prediction"] = prediction
    clash = sorted(set(extras or {}) & {*payload, "prediction"})
    if clash:
        raise ValueError(f"save_networks: extras may not replace the model file's own keys {clash}")
    payload.update(extras or {})
    with atomic_path(path) as temporary:
        torch.save(payload, temporary)


def read_payload(path: str | os.PathLike) -> dict[str, Any]:
    """The raw contents of a model file (tensors on the CPU).

    Raises:
        ValueError: naming ``path`` when it is unreadable or not a model file written by :func:`save_networks`.
    """
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # torch raises many types for a missing, truncated or foreign file
        raise ValueError(f"cannot read the model file {path} ({type(error).__name__}: {error})") from error
    keys = ("run", "model", "hparams", "networks")
    missing = [key for key in keys if not isinstance(payload, dict) or key not in payload]
    if missing:
        raise ValueError(f"{path} is not a model file written by neuroicl's training (no {missing})")
    return payload


def prediction_of(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The ``prediction`` block of a model file's payload; None for a file written before it existed.

    Raises:
        ValueError: for a block of a newer version than this code reads.
    """
    block = payload.get("prediction")
    if block is not None and block.get("version", 0) > PREDICTION_VERSION:
        raise ValueError(
            f"model file of run {payload['run']!r} has a prediction block of version {block.get('version')}; this "
            f"code reads up to {PREDICTION_VERSION}: update neuroicl"
        )
    return block


def networks_from(payload: dict[str, Any], device: torch.device | str = "cpu") -> dict[str, TrainablePredictor]:
    """The networks of a model file's payload (:func:`read_payload`), in eval mode on ``device``, keyed by label."""
    networks = {}
    for label, state in payload["networks"].items():
        model = build_model(payload["model"], generator=torch.Generator(), device=device, **payload["hparams"])
        model.load_state_dict(state)
        networks[label] = model.eval()
    return networks


def load_networks(path: str | os.PathLike, device: torch.device | str = "cpu") -> dict[str, TrainablePredictor]:
    """The networks of a model file, in eval mode on ``device``, keyed by label."""
    return networks_from(read_payload(path), device)
