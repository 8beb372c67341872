"""Perlin (gradient) noise and masks of a chosen coverage thresholded from it (batched).

Shapes: N items, H W space. Gradient noise after Perlin, "Improving noise" (SIGGRAPH 2002): random
unit gradients on an integer lattice, the fade curve ``6t⁵ - 15t⁴ + 10t³`` and blending of the four
corner contributions; fractal sum over octaves at doubling frequency and halving amplitude.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from neuroicl.tasks.ops.checks import require


def _fade(t: Tensor) -> Tensor:
    return t * t * t * (t * (6.0 * t - 15.0) + 10.0)


def _gradient_noise(angles: Tensor, cells: Tensor, size: tuple[int, int]) -> Tensor:
    """One octave ``[N, H, W]``: item i spans ``cells[i]`` lattice cells of ``angles [N, L + 1, L + 1]``.

    Pixel centres ``(y + 0.5) / H · cells`` (likewise x) are the lattice coordinates, so every item
    uses only the top-left ``(cells[i] + 1)²`` lattice points, whatever the shared L.
    """
    height, width = size
    n, side = angles.shape[0], angles.shape[-1]
    c = cells.to(angles.dtype).view(-1, 1, 1)
    y = (torch.arange(height, device=angles.device, dtype=angles.dtype).view(1, -1, 1) + 0.5) / height * c
    x = (torch.arange(width, device=angles.device, dtype=angles.dtype).view(1, 1, -1) + 0.5) / width * c
    y, x = y.expand(n, height, width), x.expand(n, height, width)
    y0, x0 = y.floor(), x.floor()
    fy, fx = y - y0, x - x0
    flat = angles.reshape(n, -1)

    def corner(dy: int, dx: int) -> Tensor:
        index = ((y0 + dy) * side + (x0 + dx)).long().reshape(n, -1)
        theta = flat.gather(1, index).view(n, height, width)
        return torch.cos(theta) * (fx - dx) + torch.sin(theta) * (fy - dy)

    u, v = _fade(fx), _fade(fy)
    top = torch.lerp(corner(0, 0), corner(0, 1), u)
    bottom = torch.lerp(corner(1, 0), corner(1, 1), u)
    return torch.lerp(top, bottom, v)


def sample_perlin(
    n: int, size: tuple[int, int], cells: Tensor, octaves: int, generator: torch.Generator, max_cells: int | None = None
) -> Tensor:
    """Draw Perlin noise ``[N, H, W]`` on ``generator.device``.

    ``cells [N]`` (integers in 1..``max_cells``) is each item's lattice resolution: the number of noise
    cells across the image at the first octave. Octave ``o`` (0-based) has ``cells · 2^o`` cells and
    amplitude ``2^-o``. Per octave, gradient angles are drawn uniformly on a lattice of ``max_cells``
    cells and every item reads its own corner of it, so the batch is done at once (the draws, and so
    each item's noise, depend on the seed and on ``max_cells``). ``max_cells`` None reads
    ``cells.max()`` on the host (a GPU sync); the tasks pass their setting's upper bound. Values lie
    roughly in ``±0.7 · (2 - 2^(1 - octaves))``.

    Example:
        >>> noise = sample_perlin(2, (64, 64), torch.tensor([2, 4]), 3, torch.Generator().manual_seed(0))
        >>> noise.shape
        torch.Size([2, 64, 64])
    """
    height, width = size
    if n < 0:
        raise ValueError(f"n must be >= 0 (number of items), got {n}")
    if height < 1 or width < 1:
        raise ValueError(f"size must be positive (H, W), got {size}")
    if octaves < 1:
        raise ValueError(f"octaves must be >= 1, got {octaves}")
    if cells.shape != (n,) or cells.is_floating_point() or cells.dtype == torch.bool:
        raise ValueError(f"cells must be an integer tensor [N={n}], got {cells.dtype} {tuple(cells.shape)}")
    device = generator.device
    noise = torch.zeros(n, height, width, device=device)
    if n == 0:
        return noise
    cells = cells.to(device)
    largest = int(cells.max()) if max_cells is None else max_cells
    require((cells >= 1) & (cells <= largest),
            lambda: f"cells must be >= 1 and <= max_cells ({largest}), got {cells.tolist()}")
    for octave in range(octaves):
        side = largest * 2**octave + 1
        angles = 2.0 * math.pi * torch.rand(n, side, side, device=device, generator=generator)
        noise += _gradient_noise(angles, cells * 2**octave, size) / 2**octave
    return noise


def perlin_mask(noise: Tensor, coverage: Tensor) -> Tensor:
    """Boolean masks ``[N, H, W]``: per item, the ``round(coverage[i] · H · W)`` highest-noise pixels.

    ``noise [N, H, W]``, ``coverage [N]`` in [0, 1]. Thresholding each item at its own quantile, by
    rank (stable sort) so ties cannot change the count: the masked fraction is ``coverage[i]`` to
    within half a pixel, ``0.5 / (H · W)``.
    """
    if noise.ndim != 3:
        raise ValueError(f"noise must be [N, H, W], got {tuple(noise.shape)}")
    n, height, width = noise.shape
    if coverage.shape != (n,) or not coverage.is_floating_point():
        raise ValueError(f"coverage must be a float tensor [N={n}], got {coverage.dtype} {tuple(coverage.shape)}")
    require((coverage >= 0) & (coverage <= 1), lambda: f"coverage must be in [0, 1], got {coverage.tolist()}")
    flat = noise.reshape(n, -1)
    order = flat.argsort(dim=1, descending=True, stable=True)
    rank = torch.empty_like(order).scatter_(1, order, torch.arange(flat.shape[1], device=flat.device).expand_as(order))
    count = torch.round(coverage.to(flat.device) * flat.shape[1]).long()
    return (rank < count.unsqueeze(1)).view(n, height, width)
