"""UniverSeg-style CrossConv network (Butoi et al., ICCV 2023: method section; public code v1).

Each level combines the target with every support (context) item by one shared 3x3
convolution over their concatenation (CrossConv), averages the L interactions into the new
target, and refines target and support items by 3x3 convs + LeakyReLU:

    pairs       [B, L, Ct+Cs, H, W] = concat(target broadcast over L, support)
    interaction [B, L, C, H, W]     = CrossConv(pairs)           (no nonlinearity, as in v1)
    target      [B, C, H, W]        = LeakyReLU(conv3x3(mean_L interaction))
    support     [B, L, C, H, W]     = LeakyReLU(conv3x3(interaction))   (shared over L)

``levels`` encoder levels (2x2 max pooling between) and ``levels - 1`` decoder levels
(bilinear upsampling, concat of the skip on target and support), then a 1x1 conv C -> 1.
Default: 4 encoder / 3 decoder levels of 64 features, about 1.18 M parameters.

Mapping into the 3-channel interface (our adaptation; UniverSeg is single-channel):
* the target uses all 3 channels of ``target_in``;
* a support item is ``context_in`` (3 channels) plus channel ``label_channel`` of
  ``context_out`` (the binary label), 4 channels;
* the single logit map is broadcast to the 3 output channels (identical copies), so against a
  mask replicated over channels the loss is UniverSeg's single-channel loss (up to the Dice
  smoothing term).
It is meant for binary tasks (segmentation, skull stripping).

As in UniverSeg's code, the support update of the last decoder level reaches no output; it is
kept by default (``last_context_update``) so that the parameter count matches the paper.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuroicl.models.base import (
    IMAGE_CHANNELS,
    TrainablePredictor,
    check_bool,
    check_inputs,
    check_int,
)
from neuroicl.models.blocks import cat_items, conv, max_pool, mean_items, per_item, upsample

LEAKY_SLOPE = 0.01


@dataclass(frozen=True)
class UniverSegConfig:
    """UniverSeg hyperparameters (defaults: UniverSeg v1).

    Attributes:
        channels: features C of every CrossConv and conv.
        levels: encoder levels; the decoder has ``levels - 1``.
        label_channel: channel of ``context_out`` that holds the binary label (0, 1 or 2).
        last_context_update: compute the last level's support update, which reaches no output.
    """

    channels: int = 64
    levels: int = 4
    label_channel: int = 0
    last_context_update: bool = True

    def __post_init__(self) -> None:
        check_int("UniverSegConfig", "channels", self.channels, 1)
        check_int("UniverSegConfig", "levels", self.levels, 1)
        check_int("UniverSegConfig", "label_channel", self.label_channel, 0)
        if self.label_channel >= IMAGE_CHANNELS:
            raise ValueError(
                f"UniverSegConfig.label_channel must be < {IMAGE_CHANNELS}, "
                f"got {self.label_channel}"
            )
        check_bool("UniverSegConfig", "last_context_update", self.last_context_update)


class CrossBlock(nn.Module):
    """CrossConv, mean over L, target and support convs.

    ``target [B, Ct, H, W]``, ``support [B, L, Cs, H, W]`` -> ``[B, C, H, W]``,
    ``[B, L, C, H, W]`` (or None without ``update_support``).
    """

    def __init__(
        self, target_channels: int, support_channels: int, channels: int, update_support: bool
    ) -> None:
        super().__init__()
        self.cross = conv(target_channels + support_channels, channels, 3)
        self.target_conv = conv(channels, channels, 3)
        self.support_conv = conv(channels, channels, 3) if update_support else None

    def reset_parameters(self, generator: torch.Generator | None) -> None:
        """Kaiming-normal weights (LeakyReLU gain after the convs, linear for CrossConv)."""
        nn.init.kaiming_normal_(self.cross.weight, nonlinearity="linear", generator=generator)
        for layer in (self.target_conv, self.support_conv):
            if layer is not None:
                nn.init.kaiming_normal_(
                    layer.weight, a=LEAKY_SLOPE, nonlinearity="leaky_relu", generator=generator
                )

    def forward(self, target: Tensor, support: Tensor) -> tuple[Tensor, Tensor | None]:
        l = support.shape[1]
        pairs = cat_items(target.unsqueeze(1).expand(-1, l, -1, -1, -1), support)
        interaction = per_item(self.cross, pairs)  # B L C H W
        target = F.leaky_relu(self.target_conv(mean_items(interaction)), LEAKY_SLOPE)
        if self.support_conv is None:
            return target, None
        return target, F.leaky_relu(per_item(self.support_conv, interaction), LEAKY_SLOPE)


class UniverSeg(TrainablePredictor):
    """In-context binary segmenter; ``forward`` returns logits ``[B, 3, H, W]``.

    The three output channels are copies of one logit map; masks are the sigmoid of it, trained with soft
    Dice, as in UniverSeg's reference implementation.
    """

    mask_activation = "sigmoid"

    def __init__(
        self,
        config: UniverSegConfig = UniverSegConfig(),
        *,
        generator: torch.Generator | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        super().__init__()
        self.config = config
        c, levels = config.channels, config.levels
        n_blocks = 2 * levels - 1  # in processing order: encoder blocks, then decoder blocks

        def block(i: int, target_channels: int, support_channels: int) -> CrossBlock:
            update = i < n_blocks - 1 or config.last_context_update
            return CrossBlock(target_channels, support_channels, c, update)

        with torch.device("meta"):
            first = block(0, IMAGE_CHANNELS, IMAGE_CHANNELS + 1)
            self.encoder = nn.ModuleList([first, *(block(i, c, c) for i in range(1, levels))])
            self.decoder = nn.ModuleList(block(levels + i, 2 * c, 2 * c) for i in range(levels - 1))
            self.out_conv = conv(c, 1, 1)
        self.materialize(device, generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Kaiming-normal weights as in UniverSeg's code, zero biases."""
        for block in [*self.encoder, *self.decoder]:
            block.reset_parameters(generator)
        nn.init.kaiming_normal_(self.out_conv.weight, nonlinearity="linear", generator=generator)
        for module in self.modules():
            if isinstance(module, nn.Conv2d) and module.bias is not None:
                nn.init.zeros_(module.bias)

    def forward(self, target_in: Tensor, context_in: Tensor, context_out: Tensor) -> Tensor:
        check_inputs(target_in, context_in, context_out, min_context=1)
        k = self.config.label_channel
        target = target_in  # B 3 H W
        support = torch.cat([context_in, context_out[:, :, k : k + 1]], dim=2)  # B L 4 H W
        # Only the very last block may return no support, so every skip holds a tensor.
        skips = []
        for i, enc in enumerate(self.encoder):
            if i > 0:
                skips.append((target, support))
                target, support = max_pool(target), max_pool(support)
            target, support = enc(target, support)
        for dec in self.decoder:
            skip_target, skip_support = skips.pop()
            size = (skip_target.shape[-2], skip_target.shape[-1])
            # align_corners=True: nn.UpsamplingBilinear2d, as UniverSeg's reference implementation upsamples
            target = torch.cat([upsample(target, size, align_corners=True), skip_target], dim=1)  # B 2C H W
            support = cat_items(upsample(support, size, align_corners=True), skip_support)  # B L 2C H W
            target, support = dec(target, support)
        return self.out_conv(target).expand(-1, IMAGE_CHANNELS, -1, -1)
