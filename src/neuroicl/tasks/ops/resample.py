"""Resolution degradation for the super-resolution task (batched, per-item factors per axis).

Shapes: N items, C channels, H W space. Like TorchIO's RandomAnisotropy (downsample along an axis,
then upsample back to the original grid), but in 2D with its own factor per item along each axis,
and with the anti-aliasing of TorchIO's ``Resample(antialias=True)`` (Cardoso et al., MICCAI 2015).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from neuroicl.tasks.ops.checks import require

FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))  # ≈ 2.355


def _hat(positions: Tensor, size: int) -> Tensor:
    """Linear-interpolation weights ``[N, P, size]`` of points at ``positions [N, P]`` (pixel units)."""
    nodes = torch.arange(size, device=positions.device, dtype=positions.dtype)
    return (1.0 - (positions.unsqueeze(-1) - nodes).abs()).clamp(min=0.0)


def _axis_operator(factor: Tensor, size: int) -> Tensor:
    """Per-item linear operator ``[N, size, size]`` along one axis: blur, subsample, interpolate back.

    ``out = interpolate @ subsample @ blur @ x`` where
    blur: Gaussian of ``sigma = sqrt(f² - 1) / 2.355`` (Cardoso et al.: an input whose point spread
    function has a FWHM of 1 pixel ends with a FWHM of ``f`` pixels), weights renormalised at the image
    border (no padding values); subsample: the blurred line at ``0, f, 2f, …, J f`` with
    ``J = floor((size - 1) / f)`` (linear interpolation between pixels for fractional ``f``; nodes past
    ``J`` repeat node ``J``); interpolate: the value at pixel ``i`` is the low-resolution line at
    ``i / f``, linearly interpolated. ``f = 1`` gives exactly the identity.
    """
    f = factor.unsqueeze(-1)  # [N, 1]
    pixels = torch.arange(size, device=factor.device, dtype=factor.dtype)
    sigma = (torch.sqrt(factor**2 - 1.0) / FWHM_PER_SIGMA).clamp(min=1e-3)  # 1e-3: an exact delta
    distance = pixels.view(1, -1, 1) - pixels.view(1, 1, -1)  # [1, size, size]
    blur = torch.exp(-0.5 * (distance / sigma.view(-1, 1, 1)) ** 2)
    blur = blur / blur.sum(dim=-1, keepdim=True)
    last = torch.floor((size - 1) / f)  # [N, 1], index of the last low-resolution node
    subsample = _hat(torch.minimum(pixels, last) * f, size)  # [N, size (node j), size]
    interpolate = _hat(pixels / f, size)  # [N, size (pixel i), size (node j)]
    return interpolate @ subsample @ blur


def _check_factor(name: str, factor: Tensor, n: int) -> None:
    if factor.shape != (n,) or not factor.is_floating_point():
        raise ValueError(f"{name} must be a float tensor [N={n}], got {factor.dtype} {tuple(factor.shape)}")
    require(torch.isfinite(factor) & (factor >= 1),
            lambda: f"{name} must be finite and >= 1, got values down to {factor.min().item()}")


def degrade_resolution(images: Tensor, factor_h: Tensor, factor_w: Tensor) -> Tensor:
    """Simulate acquisition at ``factor_h × factor_w`` coarser spacing, resampled back to H × W.

    ``images [N, C, H, W]``, ``factor_h``/``factor_w [N]`` floats >= 1 (need not be integers) ->
    ``[N, C, H, W]``. Per axis: anti-alias Gaussian blur (total FWHM ``factor`` pixels), keep only the
    samples at ``0, f, 2f, …``, linear interpolation back to every pixel (see ``_axis_operator``).
    Implemented as per-item ``[N, H, H]`` and ``[N, W, W]`` matrices applied by ``einsum``, so all
    items are done at once on any device; ``factor 1`` returns the images unchanged and the
    high-frequency energy falls as the factor grows.

    Example:
        >>> x = torch.rand(2, 1, 32, 32)
        >>> degrade_resolution(x, torch.tensor([1.0, 4.0]), torch.tensor([1.0, 1.0])).shape
        torch.Size([2, 1, 32, 32])
    """
    if images.ndim != 4 or not images.is_floating_point():
        raise ValueError(f"images must be a float tensor [N, C, H, W], got {images.dtype} {tuple(images.shape)}")
    n, _, height, width = images.shape
    _check_factor("factor_h", factor_h, n)
    _check_factor("factor_w", factor_w, n)
    along_h = _axis_operator(factor_h.to(images), height)
    along_w = _axis_operator(factor_w.to(images), width)
    return torch.einsum("nih,nchw,njw->ncij", along_h, images, along_w)
