"""Build any predictor by name from plain hyperparameters (e.g. a config block).

Example:
    >>> generator = torch.Generator().manual_seed(0)
    >>> model = build_model("neuralizer", channels=8, levels=2, generator=generator)
    >>> type(model).__name__
    'Neuralizer'
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import torch

from neuroicl.models.base import Predictor
from neuroicl.models.context_mean import ContextMean, ContextMeanConfig
from neuroicl.models.identity import Identity, IdentityConfig
from neuroicl.models.metaseg import MetaSeg, MetaSegConfig
from neuroicl.models.mvg import MVG, MVGConfig
from neuroicl.models.neuralizer import Neuralizer, NeuralizerConfig
from neuroicl.models.unet import UNet, UNetConfig
from neuroicl.models.universeg import UniverSeg, UniverSegConfig

#: name -> (hyperparameter dataclass, model class); a new model adds its line (docs/extending.md).
MODELS: dict[str, tuple[type, type[Predictor]]] = {
    "neuralizer": (NeuralizerConfig, Neuralizer),
    "unet": (UNetConfig, UNet),
    "universeg": (UniverSegConfig, UniverSeg),
    "context_mean": (ContextMeanConfig, ContextMean),
    "identity": (IdentityConfig, Identity),
    "metaseg": (MetaSegConfig, MetaSeg),
    "mvg": (MVGConfig, MVG),
}


def model_config(name: str, **hparams: Any) -> Any:
    """The validated hyperparameter dataclass of model ``name``.

    Raises:
        ValueError: for an unknown ``name`` or hyperparameter, naming it and the valid ones, or
            for a bad value (raised by the dataclass, naming the parameter).
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; valid models: {sorted(MODELS)}")
    config_cls = MODELS[name][0]
    valid = [field.name for field in dataclasses.fields(config_cls)]
    unknown = sorted(set(hparams) - set(valid))
    if unknown:
        raise ValueError(f"unknown hyperparameter(s) {unknown} for model {name!r}; valid: {valid}")
    return config_cls(**hparams)


def build_model(
    name: str,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    **hparams: Any,
) -> Predictor:
    """Build model ``name`` (one of :data:`MODELS`) with hyperparameters ``hparams``.

    Args:
        name: a key of :data:`MODELS` (``"neuralizer"``, ``"unet"``, ``"universeg"``, ``"context_mean"``,
            ``"identity"``).
        generator: source of the initial weights (global RNG if None); unused by parameter-free models.
        device: where the weights live; ``"meta"`` builds shapes only (for cost measurement).
        **hparams: fields of the model's config dataclass; missing ones take their defaults.
    """
    config = model_config(name, **hparams)
    model_cls = MODELS[name][1]
    if "generator" in inspect.signature(model_cls).parameters:  # weights of its own, trained or fitted
        return model_cls(config, generator=generator, device=device)
    return model_cls(config)
