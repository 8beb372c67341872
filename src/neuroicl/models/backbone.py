"""The pairwise-conv-avg U-Net shared by Neuralizer and the task-specific U-Net baseline.

Neuralizer (Czolbe & Dalca, CVPR 2023; supplement Sec. H and the public inference code) is a
U-Net at constant width C whose every level processes the target and, with shared weights,
every context item, then lets each context item interact with the target:

    t = ResUnit(target)                      target  [B, C, H, W]
    c = ResUnit'(context)                    context [B, L, C, H, W], weights shared over L
    p = concat(c, t broadcast over L)        pairs   [B, L, 2C, H, W]
    target  <- GELU(t + mean_L conv1x1(p))
    context <- GELU(c + conv1x1'(p))         (per item, shared weights)

The levels are arranged as ``levels`` encoder levels (the deepest one is the bottleneck),
2x2 max pooling between them, and ``levels - 1`` decoder levels, each preceded by bilinear
upsampling, concatenation of the skip and a 1x1 conv 2C -> C (on the target and, shared, on
every context item). An output residual unit and a 1x1 conv C -> 3 give the raw output. There
are no normalisation layers. Without context (``in_context=False``) only the target path
remains: this is the task-specific U-Net baseline.

The context update of the very last level feeds nothing (only the target reaches the output).
Neuralizer's code computes it anyway, and Table 6 counts its parameters and FLOPs, so
``last_context_update=True`` keeps it for a faithful reproduction (its weights then receive no
gradient); ``False`` drops it. See docs/models.md for the arithmetic.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from neuroicl.models.base import IMAGE_CHANNELS, TrainablePredictor, check_inputs
from neuroicl.models.blocks import (
    ResidualUnit,
    cat_items,
    conv,
    gelu,
    max_pool,
    per_item,
    reset_conv_default,
    upsample,
)


class PairwiseLevel(nn.Module):
    """One U-Net level: residual units, then the pairwise target-context interaction.

    ``target [B, C, H, W]``, ``context [B, L, C, H, W]`` or None -> same shapes. Without
    ``update_context`` the level returns no context (only valid as the last level).
    """

    def __init__(
        self, channels: int, conv_layers: int, in_context: bool, update_context: bool
    ) -> None:
        super().__init__()
        c = channels
        self.target_unit = ResidualUnit(c, conv_layers)
        self.context_unit = ResidualUnit(c, conv_layers) if in_context else None
        self.target_update = conv(2 * c, c, 1) if in_context else None
        self.context_update = conv(2 * c, c, 1) if in_context and update_context else None

    def forward(self, target: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor | None]:
        target = self.target_unit(target)  # B C H W
        if context is None or self.context_unit is None or self.target_update is None:
            return target, None
        context = per_item(self.context_unit, context)  # B L C H W
        pairs = cat_items(context, target.unsqueeze(1).expand_as(context))  # B L 2C H W
        target = gelu(target + per_item(self.target_update, pairs).mean(dim=1))
        if self.context_update is None:
            return target, None
        return target, gelu(context + per_item(self.context_update, pairs))


class UpMerge(nn.Module):
    """Bilinear upsampling to the skip's H W, concat of the skip, 1x1 conv 2C -> C."""

    def __init__(self, channels: int, in_context: bool) -> None:
        super().__init__()
        self.target_merge = conv(2 * channels, channels, 1)
        self.context_merge = conv(2 * channels, channels, 1) if in_context else None

    def forward(
        self, target: Tensor, context: Tensor | None, skip: tuple[Tensor, Tensor | None]
    ) -> tuple[Tensor, Tensor | None]:
        skip_target, skip_context = skip
        size = (skip_target.shape[-2], skip_target.shape[-1])
        target = self.target_merge(torch.cat([upsample(target, size), skip_target], dim=1))
        if context is None or skip_context is None or self.context_merge is None:
            return target, None
        merged = cat_items(upsample(context, size), skip_context)  # B L 2C H W
        return target, per_item(self.context_merge, merged)


class PairwiseUNet(TrainablePredictor):
    """Pairwise-conv-avg U-Net; ``forward`` returns the raw output ``[B, 3, H, W]``.

    Layers are built on the meta device and materialised on ``device`` (skipped on ``meta``),
    initialised with PyTorch's default conv init drawn from ``generator``.
    """

    def __init__(
        self,
        *,
        channels: int,
        levels: int,
        conv_layers: int,
        in_context: bool,
        last_context_update: bool,
        generator: torch.Generator | None,
        device: torch.device | str,
    ) -> None:
        super().__init__()
        c = channels
        self.in_context = in_context
        self.levels = levels
        n_levels = 2 * levels - 1  # in processing order: encoder levels, then decoder levels

        def level(i: int) -> PairwiseLevel:
            update = i < n_levels - 1 or last_context_update
            return PairwiseLevel(c, conv_layers, in_context, update)

        with torch.device("meta"):
            self.target_embed = conv(IMAGE_CHANNELS, c, 1)
            self.context_embed = conv(2 * IMAGE_CHANNELS, c, 1) if in_context else None
            self.encoder = nn.ModuleList(level(i) for i in range(levels))
            self.merges = nn.ModuleList(UpMerge(c, in_context) for _ in range(levels - 1))
            self.decoder = nn.ModuleList(level(levels + i) for i in range(levels - 1))
            self.head = nn.Sequential(ResidualUnit(c, conv_layers), conv(c, IMAGE_CHANNELS, 1))
        self.materialize(device, generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                reset_conv_default(module, generator)

    def forward(self, target_in: Tensor, context_in: Tensor, context_out: Tensor) -> Tensor:
        check_inputs(target_in, context_in, context_out, min_context=int(self.in_context))
        smallest = 2 ** (self.levels - 1)
        if min(target_in.shape[-2:]) < smallest:
            raise ValueError(
                f"H and W must be at least 2**(levels-1) = {smallest} for levels={self.levels}, "
                f"got {tuple(target_in.shape[-2:])}"
            )
        target = self.target_embed(target_in)  # B C H W
        context = None
        if self.context_embed is not None:
            pairs_in = torch.cat([context_in, context_out], dim=2)  # B L 6 H W
            context = per_item(self.context_embed, pairs_in)  # B L C H W

        skips: list[tuple[Tensor, Tensor | None]] = []
        for i, enc in enumerate(self.encoder):
            if i > 0:
                skips.append((target, context))
                target = max_pool(target)
                context = None if context is None else max_pool(context)
            target, context = enc(target, context)
        for merge, dec in zip(self.merges, self.decoder, strict=True):
            target, context = merge(target, context, skips.pop())
            target, context = dec(target, context)
        return self.head(target)
