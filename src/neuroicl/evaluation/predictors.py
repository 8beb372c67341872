"""What evaluation calls to predict: one function per run, built the same way for every model.

A trained run's networks come from its model file (one per evaluation label for a per-label run,
picked by the case's label); a run without training builds its model from its hyperparameters.
Everything else a model does differently — ignoring the context, fitting itself to each target's
context at test time — lives in the model's own ``predict`` (:class:`neuroicl.models.base.Predictor`).

Example:
    >>> predict = predictor(run, config, "results/train/unet-denoising-all/model.pt", "cpu")
    >>> predict(target_in, context_in, context_out, "reconstruction", "").shape  # [B, 3, H, W]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from neuroicl.models.base import Predictor
from neuroicl.models.factory import build_model
from neuroicl.models.model_file import load_networks
from neuroicl.plan.runs import Run

#: ``predict(target_in [B,3,H,W], context_in, context_out [B,L,3,H,W], family, label) -> [B,3,H,W]``
#: in output space (probabilities for masks).
PredictFn = Callable[[Tensor, Tensor, Tensor, str, str], Tensor]


def networks_of(run: Run, config: dict[str, Any], model_path: str | None,
                device: torch.device | str) -> dict[str, Predictor]:
    """The run's predictors by label ("" for one): the networks of its model file (trained, or converted from
    released weights), or its parameter-free model."""
    if not run.has_model_file:
        hparams = config["models"]["hyperparameters"].get(run.model, {})
        return {"": build_model(run.model, device=device, **hparams)}
    if model_path is None:
        raise ValueError(f"run {run.name!r} has a model file (trained or converted): its model file is needed")
    return dict(load_networks(model_path, device))


def predictor(run: Run, config: dict[str, Any], model_path: str | None, device: torch.device | str) -> PredictFn:
    """The :data:`PredictFn` of ``run`` (``model_path``: its model file when it is trained)."""
    networks = networks_of(run, config, model_path, device)

    def predict(target_in: Tensor, context_in: Tensor, context_out: Tensor, family: str, label: str) -> Tensor:
        network = networks[label] if label in networks else networks[""]
        return network.predict(target_in, context_in, context_out, network.objective(family))

    return predict
