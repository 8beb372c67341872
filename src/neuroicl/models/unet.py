"""Task-specific U-Net baseline: Neuralizer's backbone without the context path.

Neuralizer supplement Sec. H, Table 6: 64 channels -> 0.62 M parameters, 20.7 GFLOP;
256 channels -> 9.84 M parameters, 329.7 GFLOP (192x192 input). The model accepts the context
of the predictor interface and ignores it (any L, including 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from neuroicl.models.backbone import PairwiseUNet
from neuroicl.models.base import check_int


@dataclass(frozen=True)
class UNetConfig:
    """U-Net baseline hyperparameters (defaults: the 64-channel baseline).

    Attributes:
        channels: width C of every level (64 or 256 in the paper).
        levels: encoder levels including the bottleneck; the decoder has ``levels - 1``.
        conv_layers: 3x3 convolutions per residual unit.
    """

    channels: int = 64
    levels: int = 4
    conv_layers: int = 2

    def __post_init__(self) -> None:
        check_int("UNetConfig", "channels", self.channels, 1)
        check_int("UNetConfig", "levels", self.levels, 1)
        check_int("UNetConfig", "conv_layers", self.conv_layers, 1)


class UNet(PairwiseUNet):
    """Task-specific predictor; ``forward`` returns the raw output ``[B, 3, H, W]``."""

    def __init__(
        self,
        config: UNetConfig = UNetConfig(),
        *,
        generator: torch.Generator | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        super().__init__(
            channels=config.channels,
            levels=config.levels,
            conv_layers=config.conv_layers,
            in_context=False,
            last_context_update=False,
            generator=generator,
            device=device,
        )
        self.config = config
