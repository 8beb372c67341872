"""The authors' released Neuralizer weights (``model_weights.ckpt``) mapped onto our :class:`Neuralizer`.

The public repository (SteffenCzolbe/neuralizer) ships a PyTorch Lightning checkpoint of its
``LightningModel``, whose only submodule ``net`` is a ``PairwiseConvAvgModel`` (2-D, ``stages`` levels,
``inner_channels`` wide, ``conv_layers_per_stage`` convolutions per residual unit, 3 input and 3 output
channels). Its ``state_dict`` keys carry the prefix ``net.``; every one of them has exactly one key of ours
(:data:`KEY_MAP`, applied to our key to give theirs):

==========================================================  ===============================================
ours                                                        theirs (after ``net.``)
==========================================================  ===============================================
``target_embed.*``                                          ``target_embedding.*``
``context_embed.*``                                         ``context_embedding.module.*``
``encoder.<i>.target_unit.layers.<k>.*``                    ``enc_blocks.<i>.target_conv.layers.<k>.*``
``encoder.<i>.context_unit.layers.<k>.*``                   ``enc_blocks.<i>.context_conv.module.layers.<k>.*``
``encoder.<i>.target_update.*``                             ``enc_blocks.<i>.combine_conv_target.module.*``
``encoder.<i>.context_update.*``                            ``enc_blocks.<i>.combine_conv_context.module.*``
``decoder.<j>.…``                                           ``dec_blocks.<j>.…`` (as the encoder's)
``merges.<j>.target_merge.*``                               ``upsample_blocks.<j>.target_conv_layer.*``
``merges.<j>.context_merge.*``                              ``upsample_blocks.<j>.context_conv_layer.module.*``
``head.0.layers.<k>.*``                                     ``output_block.block.0.layers.<k>.*``
``head.1.*``                                                ``output_block.block.1.*``
==========================================================  ===============================================

The forward passes agree operation for operation (docs/models.md, "The released weights"): the same
concatenation orders (context input before output; context item before target; upsampled before skip),
2x2 max pooling, bilinear x2 upsampling without corner alignment, the last context update computed, no
normalisation. What differs is the channel layout of a mask or single output image: channel 0 with zeros
elsewhere in theirs, replicated in ours; the model returned here has ``label_layout="first"``, whose
``predict`` converts (:class:`neuroicl.models.neuralizer.Neuralizer`).

A checkpoint with a key missing, a key we do not know, or a shape that differs is refused with a
``ValueError`` naming every such key: no weight is dropped or invented. Keys outside ``net.`` (training-time
modules such as a loss module, which the authors' demo skips with ``strict=False``) are refused too unless the
caller names them in ``ignore``.

Example:
    >>> model = load_released("resources/downloads/neuralizer-model_weights.ckpt")
    >>> model.config.channels, model.config.label_layout
    (64, 'first')
"""

from __future__ import annotations

import os
import pickle
import re
import types
from collections.abc import Collection, Mapping
from dataclasses import asdict
from typing import Any

import torch
from torch import Tensor

from neuroicl.models.model_file import save_networks
from neuroicl.models.neuralizer import Neuralizer, NeuralizerConfig

#: The prefix of the network's keys in the Lightning checkpoint (``LightningModel.net``).
PREFIX = "net."

#: Our key (regular expression) -> theirs after :data:`PREFIX`, applied in order; the first match wins.
KEY_MAP: tuple[tuple[str, str], ...] = (
    (r"^target_embed\.", "target_embedding."),
    (r"^context_embed\.", "context_embedding.module."),
    (r"^encoder\.(\d+)\.", r"enc_blocks.\1."),
    (r"^decoder\.(\d+)\.", r"dec_blocks.\1."),
    (r"^merges\.(\d+)\.target_merge\.", r"upsample_blocks.\1.target_conv_layer."),
    (r"^merges\.(\d+)\.context_merge\.", r"upsample_blocks.\1.context_conv_layer.module."),
    (r"^head\.0\.", "output_block.block.0."),
    (r"^head\.1\.", "output_block.block.1."),
)

#: Inside a level (encoder or decoder block): ours -> theirs.
LEVEL_MAP: tuple[tuple[str, str], ...] = (
    (r"\.target_unit\.", ".target_conv."),
    (r"\.context_unit\.", ".context_conv.module."),
    (r"\.target_update\.", ".combine_conv_target.module."),
    (r"\.context_update\.", ".combine_conv_context.module."),
)

#: Their hyperparameter (``hyper_parameters`` of the checkpoint) -> the field of ours it must equal.
HPARAMS = {"nb_inner_channels": "channels", "nb_levels": "levels", "nb_conv_layers_per_stage": "conv_layers"}


def their_key(ours: str) -> str:
    """The checkpoint key (with :data:`PREFIX`) of our state-dict key ``ours``."""
    for pattern, replacement in KEY_MAP:
        if re.match(pattern, ours):
            key = re.sub(pattern, replacement, ours, count=1)
            if key.startswith(("enc_blocks.", "dec_blocks.")):
                for inner, theirs in LEVEL_MAP:
                    key = re.sub(inner, theirs, key, count=1)
            return PREFIX + key
    raise ValueError(f"no mapping for our key {ours!r}; extend neuroicl.models.released.KEY_MAP")


def infer_config(state: Mapping[str, Tensor]) -> NeuralizerConfig:
    """Our config of the network in ``state`` (their keys): width, levels and convolutions per residual unit.

    Raises:
        ValueError: the checkpoint is not a 2-D Neuralizer with three input and output channels.
    """
    embedding = state.get(PREFIX + "target_embedding.weight")
    if embedding is None:
        raise ValueError(
            f"not a Neuralizer checkpoint: no key {PREFIX}target_embedding.weight (keys start with "
            f"{sorted({key.split('.')[0] for key in state})[:5]})"
        )
    if embedding.ndim != 4 or tuple(embedding.shape[1:]) != (3, 1, 1):
        raise ValueError(
            f"{PREFIX}target_embedding.weight has shape {tuple(embedding.shape)}; ours is [C, 3, 1, 1] "
            "(a 2-D model with three input channels; a 3-D checkpoint has 5-D weights)"
        )
    levels = {int(m.group(1)) for key in state if (m := re.match(rf"^{re.escape(PREFIX)}enc_blocks\.(\d+)\.", key))}
    unit = rf"^{re.escape(PREFIX)}enc_blocks\.0\.target_conv\.layers\.(\d+)\.weight$"
    convs = [key for key in state if re.match(unit, key)]
    if not levels or not convs:
        raise ValueError(f"not a Neuralizer checkpoint: no {PREFIX}enc_blocks.0.target_conv.layers.<k>.weight")
    return NeuralizerConfig(channels=int(embedding.shape[0]), levels=max(levels) + 1, conv_layers=len(convs),
                            last_context_update=True, label_layout="first")


def map_state_dict(
    state: Mapping[str, Tensor], ignore: Collection[str] = (), hparams: Mapping[str, Any] | None = None
) -> tuple[NeuralizerConfig, dict[str, Tensor]]:
    """Our config and state dict of a checkpoint's ``state`` (their keys).

    Args:
        state: the checkpoint's ``state_dict``.
        ignore: keys outside :data:`PREFIX` to leave out (each must be in ``state``).
        hparams: the checkpoint's ``hyper_parameters``, checked against the shapes where they name the width,
            levels, convolutions per unit or the slice (2-D) setting.

    Raises:
        ValueError: naming every missing and unexpected key and every shape that differs, or a bad ``ignore``
            entry, or hyperparameters that contradict the weights.
    """
    inside = [key for key in ignore if key.startswith(PREFIX)]
    absent = sorted(set(ignore) - set(state))
    if inside or absent:
        raise ValueError(
            f"ignore may only name keys outside the network that the checkpoint has; network keys: {sorted(inside)}, "
            f"not in the checkpoint: {absent}"
        )
    config = infer_config(state)
    _check_hparams(hparams or {}, config)
    ours = Neuralizer(config, device="meta").state_dict()
    expected = {their_key(key): key for key in ours}
    present = set(state) - set(ignore)
    missing, unexpected = sorted(set(expected) - present), sorted(present - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"the checkpoint does not match a Neuralizer of {asdict(config)}: missing keys {missing}; unexpected keys "
            f"{unexpected} (keys outside {PREFIX!r} that hold no network weights can be named in ignore)"
        )
    shapes = [f"{theirs} {tuple(state[theirs].shape)} vs ours {tuple(ours[key].shape)}"
              for theirs, key in expected.items() if state[theirs].shape != ours[key].shape]
    if shapes:
        raise ValueError(f"the checkpoint's shapes differ from a Neuralizer of {asdict(config)}: {shapes}")
    return config, {key: state[theirs].detach().float().clone() for theirs, key in expected.items()}


def _check_hparams(hparams: Mapping[str, Any], config: NeuralizerConfig) -> None:
    wrong = [f"{name}={hparams[name]!r} (weights: {field}={getattr(config, field)})"
             for name, field in HPARAMS.items() if name in hparams and hparams[name] != getattr(config, field)]
    if hparams.get("data_slice_only") is False:
        wrong.append("data_slice_only=False (a 3-D model; ours is 2-D)")
    if wrong:
        raise ValueError(f"the checkpoint's hyper_parameters contradict its weights or our model: {wrong}")


def read_checkpoint(path: str | os.PathLike) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """The ``state_dict`` and ``hyper_parameters`` of the Lightning checkpoint at ``path`` (or a plain state dict).

    Loaded with ``weights_only=True``; where the checkpoint's extra parts hold classes that loader refuses
    (an ``argparse.Namespace``, Lightning's own types), again with an unpickler that turns every class outside
    torch's tensor rebuilding into an inert placeholder, so no code from the file runs.
    """
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        payload = torch.load(path, map_location="cpu", weights_only=False, pickle_module=_INERT)
    if isinstance(payload, Mapping) and isinstance(payload.get("state_dict"), Mapping):
        state, hparams = payload["state_dict"], payload.get("hyper_parameters")
    elif isinstance(payload, Mapping) and payload and all(isinstance(v, Tensor) for v in payload.values()):
        state, hparams = payload, None
    else:
        raise ValueError(f"{path} is neither a Lightning checkpoint (with a 'state_dict') nor a state dict")
    bad = sorted(key for key, value in state.items() if not isinstance(value, Tensor))
    if bad:
        raise ValueError(f"{path}: state_dict entries {bad} are not tensors")
    return dict(state), dict(hparams) if isinstance(hparams, Mapping) else {}


def load_released(path: str | os.PathLike, ignore: Collection[str] = ()) -> Neuralizer:
    """Our :class:`Neuralizer` (``label_layout="first"``, eval mode, on the CPU) with the weights of ``path``.

    Raises:
        ValueError: see :func:`map_state_dict`.
    """
    state, hparams = read_checkpoint(path)
    config, mapped = map_state_dict(state, ignore, hparams)
    model = Neuralizer(config, generator=torch.Generator())
    model.load_state_dict(mapped, strict=True)
    return model.eval()


def save_released(checkpoint: str | os.PathLike, path: str | os.PathLike, run: str,
                  ignore: Collection[str] = ()) -> Neuralizer:
    """Write the model file (:mod:`neuroicl.models.model_file`) of run ``run`` from the released ``checkpoint``;
    evaluation rebuilds it as ``neuralizer`` with the checkpoint's hyperparameters and ``label_layout="first"``."""
    model = load_released(checkpoint, ignore)
    save_networks(path, run, "neuralizer", asdict(model.config), {"": model})
    return model


class _Inert:
    """Stands in for any class the checkpoint names outside torch's tensor rebuilding; keeps nothing."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __setstate__(self, state: object) -> None:
        pass

    def __setitem__(self, key: object, value: object) -> None:  # a dict subclass's items
        pass

    def append(self, value: object) -> None:  # a list subclass's items
        pass

    def extend(self, values: object) -> None:
        pass


class _InertUnpickler(pickle.Unpickler):
    """Resolves only what a tensor or an ordered dict needs; every other global becomes an :class:`_Inert`."""

    def find_class(self, module: str, name: str) -> Any:
        dtype = module == "torch" and isinstance(getattr(torch, name, None), torch.dtype)
        allowed = (
            dtype
            or (module == "collections" and name == "OrderedDict")
            or (module in ("torch._utils", "torch._tensor") and name.startswith("_rebuild"))
            or (module == "torch" and name in ("Size", "device"))
        )
        if allowed:
            return super().find_class(module, name)
        return type(name, (_Inert,), {"__module__": f"inert.{module}"})


_INERT = types.ModuleType("neuroicl_inert_pickle")
_INERT.Unpickler = _InertUnpickler  # type: ignore[attr-defined]
_INERT.load = lambda file, **kwargs: _InertUnpickler(file, **kwargs).load()  # type: ignore[attr-defined]
