"""Layers shared by the convolutional predictors.

Shapes: B batch, L context size, C channels, H W space.
"""

from __future__ import annotations

import math

import einops
import torch
import torch.nn.functional as F
from torch import Tensor, nn


def per_item(module: nn.Module, x: Tensor) -> Tensor:
    """Apply ``module`` (weights shared over L) to every context item of ``x [B, L, C, H, W]``."""
    b = x.shape[0]
    y = module(einops.rearrange(x, "B L C H W -> (B L) C H W"))
    return einops.rearrange(y, "(B L) C H W -> B L C H W", B=b)


def cat_items(*items: Tensor) -> Tensor:
    """``[B, L, C_i, H, W]`` tensors -> ``[B, L, sum C_i, H, W]``, concatenated along C (broadcast views allowed).

    Where an input's items are channels-last (the layout the training loop gives the weights), so are the result's:
    ``torch.cat`` of 5-D tensors returns the standard layout, which every convolution after it converts back to
    channels-last, forward and backward (12 % of the demo's Neuralizer step on a float32 CPU; the values are the
    same to the bit; docs/performance.md, session 24).
    """
    if not any(_channels_last_items(x) for x in items):
        return torch.cat(items, dim=2)
    nhwc = [x.movedim(2, -1).flatten(0, 1) for x in items]  # (B L) H W C: a view, or one copy
    return torch.cat(nhwc, dim=-1).movedim(-1, 1).unflatten(0, items[0].shape[:2])


def mean_items(x: Tensor) -> Tensor:
    """The mean over L of ``x [B, L, C, H, W]`` -> ``[B, C, H, W]``, channels-last where ``x``'s items are (as
    :func:`cat_items`; a mean over dim 1 of the 5-D tensor returns the standard layout)."""
    if _channels_last_items(x):
        return x.movedim(2, -1).mean(dim=1).movedim(-1, 1)
    return x.mean(dim=1)


def _channels_last_items(x: Tensor) -> bool:
    """Whether the items of ``x [B, L, C, H, W]`` are laid out channels-last (C innermost, unambiguously)."""
    return x.shape[2] > 1 and x.shape[-2] * x.shape[-1] > 1 and x.stride(2) == 1


def gelu(x: Tensor) -> Tensor:
    """``F.gelu`` (exact) of ``[N, C, H, W]`` or ``[B, L, C, H, W]``, computed on the channels-last storage as it lies.

    PyTorch computes the GELU of a contiguous float tensor with oneDNN and of any other with its own kernel, which
    on channels-last tensors (the layout the training loop gives the weights) is 1.6x slower forward and 1.8x
    backward on an AVX2 CPU (torch 2.13) and differs in the last bits. Viewed with C last, the same storage is
    contiguous and takes oneDNN's path: the values of the standard layout's GELU, to the bit (docs/performance.md,
    session 25).
    """
    if x.dim() >= 4 and not x.is_contiguous():
        c_last = x.movedim(-3, -1)  # a view: contiguous where x is laid out channels-last
        if c_last.is_contiguous():
            return F.gelu(c_last).movedim(-1, -3)
    return F.gelu(x)


class GELU(nn.Module):
    """:func:`gelu` as a module (``nn.GELU``, exact)."""

    def forward(self, x: Tensor) -> Tensor:
        return gelu(x)


def max_pool(x: Tensor) -> Tensor:
    """2x2 max pooling of ``[B, C, H, W]`` or ``[B, L, C, H, W]`` over H W."""
    return F.max_pool2d(x.flatten(0, -4), 2).unflatten(0, x.shape[:-3])


def upsample(x: Tensor, size: tuple[int, int], align_corners: bool = False) -> Tensor:
    """Bilinear upsampling of ``[B, C, H, W]`` or ``[B, L, C, H, W]`` to H W = ``size``.

    ``align_corners=True`` is ``nn.UpsamplingBilinear2d`` (UniverSeg's reference implementation).
    """
    y = F.interpolate(x.flatten(0, -4), size=size, mode="bilinear", align_corners=align_corners)
    return y.unflatten(0, x.shape[:-3])


def conv(in_channels: int, out_channels: int, kernel_size: int) -> nn.Conv2d:
    """Stride-1 'same' convolution with bias."""
    return nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)


def reset_conv_default(module: nn.Conv2d, generator: torch.Generator | None) -> None:
    """PyTorch's default Conv2d initialisation, drawn from ``generator``.

    Weight: Kaiming-uniform with ``a = sqrt(5)``; bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    """
    nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
    if module.bias is not None:
        bound = 1.0 / math.sqrt(module.weight[0].numel())
        nn.init.uniform_(module.bias, -bound, bound, generator=generator)


class ResidualUnit(nn.Module):
    """``gelu(x + conv3x3(gelu(conv3x3(x))))`` at constant width C (Neuralizer's residual unit).

    With ``conv_layers`` convolutions (GELU between them), ``[N, C, H, W] -> [N, C, H, W]``.
    No normalisation layers.
    """

    def __init__(self, channels: int, conv_layers: int = 2) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(conv_layers):
            if i > 0:
                layers.append(GELU())
            layers.append(conv(channels, channels, 3))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return gelu(x + self.layers(x))
