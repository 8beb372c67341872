"""Neuralizer: the in-context pairwise-conv-avg U-Net (Czolbe & Dalca, CVPR 2023).

Architecture in :mod:`neuroicl.models.backbone`; paper configuration C=64, 4 levels, two 3x3
convs per residual unit: 1.27 M parameters, 39.1 GFLOP at L=1 and 610.5 GFLOP at L=32 for a
192x192 image (supplement Sec. H, Table 6; reproduced in docs/models.md).

Example:
    >>> model = Neuralizer(NeuralizerConfig(channels=8, levels=2))
    >>> context = torch.zeros(1, 2, 3, 16, 16)  # B L C H W
    >>> model(torch.zeros(1, 3, 16, 16), context, context).shape
    torch.Size([1, 3, 16, 16])
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor

from neuroicl.models.backbone import PairwiseUNet
from neuroicl.models.base import check_bool, check_int
from neuroicl.models.losses import FamilyObjective, Objective
from neuroicl.plan.families import MASK_FAMILIES

#: How a mask or a single output image fills the three channels of ``context_out`` and of the prediction:
#: ``"replicated"`` over the three (our tasks, docs/tasks.md) or ``"first"``, channel 0 with zeros elsewhere (the
#: authors' released weights, :mod:`neuroicl.models.released`).
LABEL_LAYOUTS = ("replicated", "first")

#: The families whose output is one mask or one image (the others' channel c is the clean input channel c).
SINGLE_OUTPUT_FAMILIES = (*MASK_FAMILIES, "transfer")


@dataclass(frozen=True)
class NeuralizerConfig:
    """Neuralizer hyperparameters (defaults: the paper's model).

    Attributes:
        channels: width C of every level.
        levels: encoder levels including the bottleneck; the decoder has ``levels - 1``.
        conv_layers: 3x3 convolutions per residual unit.
        last_context_update: compute the last level's context update, which does not reach the
            output; True reproduces Table 6, False saves its parameters and FLOPs.
        label_layout: one of :data:`LABEL_LAYOUTS`; ``"first"`` only for the released weights (inference).
    """

    channels: int = 64
    levels: int = 4
    conv_layers: int = 2
    last_context_update: bool = True
    label_layout: str = "replicated"

    def __post_init__(self) -> None:
        check_int("NeuralizerConfig", "channels", self.channels, 1)
        check_int("NeuralizerConfig", "levels", self.levels, 1)
        check_int("NeuralizerConfig", "conv_layers", self.conv_layers, 1)
        check_bool("NeuralizerConfig", "last_context_update", self.last_context_update)
        if self.label_layout not in LABEL_LAYOUTS:
            raise ValueError(f"NeuralizerConfig.label_layout must be one of {LABEL_LAYOUTS}, got {self.label_layout!r}")


class Neuralizer(PairwiseUNet):
    """In-context predictor; ``forward(target_in [B,3,H,W], context_in, context_out [B,L,3,H,W])``
    returns the raw output ``[B, 3, H, W]``, invariant to the order of the L context pairs."""

    def __init__(
        self,
        config: NeuralizerConfig = NeuralizerConfig(),
        *,
        generator: torch.Generator | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        super().__init__(
            channels=config.channels,
            levels=config.levels,
            conv_layers=config.conv_layers,
            in_context=True,
            last_context_update=config.last_context_update,
            generator=generator,
            device=device,
        )
        self.config = config

    def objective(self, family: str) -> Objective:
        """The family's objective; with ``label_layout="first"`` one naming the family (:meth:`predict` needs it)."""
        objective = super().objective(family)
        if self.config.label_layout == "replicated":
            return objective
        return FamilyObjective(**asdict(objective), family=family)

    def predict(self, target_in: Tensor, context_in: Tensor, context_out: Tensor, objective: Objective) -> Tensor:
        """The activated output ``[B, 3, H, W]``.

        With ``label_layout="first"`` and a family of :data:`SINGLE_OUTPUT_FAMILIES` (a :class:`FamilyObjective`
        naming it), the network sees each context output's channel 0 with zeros in channels 1-2, and its output
        channel 0 is replicated over the three: the channel layout the released weights were trained with, mapped
        to ours. Aligned outputs (the reconstruction family) are the same in both layouts.
        """
        if self.config.label_layout == "replicated":
            return super().predict(target_in, context_in, context_out, objective)
        family = getattr(objective, "family", "")
        if not family:
            raise ValueError(
                "a Neuralizer with label_layout='first' needs the task family: pass model.objective(family)"
            )
        if family not in SINGLE_OUTPUT_FAMILIES:
            return super().predict(target_in, context_in, context_out, objective)
        first = torch.zeros_like(context_out)
        first[:, :, 0] = context_out[:, :, 0]
        raw = self(target_in, context_in, first)
        return objective.activate(raw[:, :1].expand_as(raw))

    def loss(
        self,
        target_in: Tensor,
        context_in: Tensor,
        context_out: Tensor,
        target_out: Tensor,
        objective: Objective,
    ) -> Tensor:
        """Per-sample loss ``[B]`` (:meth:`TrainablePredictor.loss`); only for ``label_layout="replicated"``."""
        if self.config.label_layout != "replicated":
            raise ValueError(
                f"a Neuralizer with label_layout={self.config.label_layout!r} is for inference with the released "
                "weights; train with label_layout='replicated'"
            )
        return super().loss(target_in, context_in, context_out, target_out, objective)
