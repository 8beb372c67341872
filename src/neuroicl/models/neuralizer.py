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

from dataclasses import dataclass

import torch

from neuroicl.models.backbone import PairwiseUNet
from neuroicl.models.base import check_bool, check_int


@dataclass(frozen=True)
class NeuralizerConfig:
    """Neuralizer hyperparameters (defaults: the paper's model).

    Attributes:
        channels: width C of every level.
        levels: encoder levels including the bottleneck; the decoder has ``levels - 1``.
        conv_layers: 3x3 convolutions per residual unit.
        last_context_update: compute the last level's context update, which does not reach the
            output; True reproduces Table 6, False saves its parameters and FLOPs.
    """

    channels: int = 64
    levels: int = 4
    conv_layers: int = 2
    last_context_update: bool = True

    def __post_init__(self) -> None:
        check_int("NeuralizerConfig", "channels", self.channels, 1)
        check_int("NeuralizerConfig", "levels", self.levels, 1)
        check_int("NeuralizerConfig", "conv_layers", self.conv_layers, 1)
        check_bool("NeuralizerConfig", "last_context_update", self.last_context_update)


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
