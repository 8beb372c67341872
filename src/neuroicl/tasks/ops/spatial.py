"""Random spatial transforms: affine, elastic deformation, flips (sampler + applier pairs).

Shapes: N items, C channels, H W space, K control points per axis. Coordinates are the normalized
ones of ``F.affine_grid``/``F.grid_sample`` (``align_corners=False``): x (along W) and y (along H)
run over [-1, 1] across the image, so a translation of 1 is half the image size.

Follows TorchIO's RandomAffine (isotropic scale, rotation, translation), RandomElasticDeformation
(random displacements on a coarse control grid, borders locked, smoothly interpolated to the image)
and RandomFlip, in 2D and batched. The usual chain is
``apply_grid(images, sampling_grid(sample_affine(...), sample_elastic(...), (H, W)))``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

#: The image axis that runs left–right in coronal and axial slices: H (see :func:`neuroicl.tasks.setup.flip_dim`).
LEFT_RIGHT_DIM = 2


def _uniform(shape: tuple[int, ...], bound: float, generator: torch.Generator) -> Tensor:
    """Uniform draws in ``[-bound, bound]`` on ``generator.device``."""
    u = torch.rand(shape, device=generator.device, generator=generator)
    return (2.0 * u - 1.0) * bound


def _check_count(n: int) -> None:
    if n < 0:
        raise ValueError(f"n must be >= 0 (number of items), got {n}")


def sample_affine(n: int, degrees: float, scale: float, translation: float, generator: torch.Generator) -> Tensor:
    """Draw ``theta [N, 2, 3]`` for ``F.affine_grid`` (output coordinates -> input coordinates).

    Per item: rotation angle uniform in ``±degrees``; isotropic scale factor ``s`` uniform in
    ``[1 - scale, 1 + scale]`` (``s > 1`` zooms in, as in TorchIO's RandomAffine); translation of the
    content uniform in ``±translation`` along x and y, in normalized coordinates (fraction of the half
    size). ``theta = [A | -A t]`` with ``A = R(angle) / s``. All strengths zero give the exact identity
    ``[[1, 0, 0], [0, 1, 0]]``. The rotation is a true rotation for square images (H = W).

    Example:
        >>> theta = sample_affine(4, 15.0, 0.1, 0.05, torch.Generator().manual_seed(0))
        >>> theta.shape
        torch.Size([4, 2, 3])
    """
    _check_count(n)
    if not degrees >= 0:
        raise ValueError(f"degrees must be >= 0, got {degrees}")
    if not 0 <= scale < 1:
        raise ValueError(f"scale must be in [0, 1) so the scale factor stays positive, got {scale}")
    if not translation >= 0:
        raise ValueError(f"translation must be >= 0 (normalized coordinates), got {translation}")
    angle = _uniform((n,), math.radians(degrees), generator)
    factor = 1.0 + _uniform((n,), scale, generator)
    shift = _uniform((n, 2), translation, generator)
    cos, sin = torch.cos(angle) / factor, torch.sin(angle) / factor
    linear = torch.stack([torch.stack([cos, -sin], dim=1), torch.stack([sin, cos], dim=1)], dim=1)
    # Content moves by +shift: input = linear @ (output - shift).
    offset = -(linear @ shift.unsqueeze(-1))
    return torch.cat([linear, offset], dim=2)


def sample_elastic(n: int, control_points: int, max_displacement: float, generator: torch.Generator) -> Tensor:
    """Draw displacements ``[N, 2, K, K]`` (channel 0 along x/W, 1 along y/H) at K × K control points.

    The control points span the image corner to corner (``sampling_grid`` interpolates them with
    ``align_corners=True``). Interior displacements are uniform in ``±max_displacement`` (normalized
    coordinates); the border control points are zero, so the image border stays put, as with
    TorchIO's RandomElasticDeformation (``locked_borders=2``). As in TorchIO, folding is possible once
    ``max_displacement`` exceeds half the control-point spacing ``2 / (K - 1)``.
    """
    _check_count(n)
    if control_points < 3:
        raise ValueError(f"control_points must be >= 3 (borders are locked), got {control_points}")
    if not max_displacement >= 0:
        raise ValueError(f"max_displacement must be >= 0, got {max_displacement}")
    k = control_points
    displacement = _uniform((n, 2, k, k), max_displacement, generator)
    interior = torch.zeros(k, k, device=displacement.device)
    interior[1:-1, 1:-1] = 1.0
    return displacement * interior


def sampling_grid(theta: Tensor, displacement: Tensor | None, size: tuple[int, int]) -> Tensor:
    """Sampling grid ``[N, H, W, 2]`` (x, y) for ``apply_grid``: affine grid plus elastic displacement.

    ``theta [N, 2, 3]`` as from ``sample_affine``; ``displacement [N, 2, K, K]`` as from
    ``sample_elastic`` (or None), upsampled bicubically (``align_corners=True``, a smooth stand-in
    for TorchIO's cubic B-spline) to ``size = (H, W)`` and added to the affine grid.
    """
    height, width = size
    if height < 1 or width < 1:
        raise ValueError(f"size must be positive (H, W), got {size}")
    if theta.ndim != 3 or theta.shape[1:] != (2, 3):
        raise ValueError(f"theta must be [N, 2, 3], got {tuple(theta.shape)}")
    n = theta.shape[0]
    grid = F.affine_grid(theta, [n, 1, height, width], align_corners=False)
    if displacement is None:
        return grid
    if displacement.ndim != 4 or displacement.shape[:2] != (n, 2):
        raise ValueError(f"displacement must be [N={n}, 2, K, K], got {tuple(displacement.shape)}")
    dense = F.interpolate(displacement.to(grid.dtype), size=(height, width), mode="bicubic", align_corners=True)
    return grid + dense.permute(0, 2, 3, 1)


def apply_grid(images: Tensor, grid: Tensor, mode: str = "bilinear") -> Tensor:
    """Resample ``images [N, C, H, W]`` at ``grid [N, H', W', 2]`` -> ``[N, C, H', W']``.

    ``F.grid_sample`` with zeros padding and ``align_corners=False``; use ``mode="nearest"`` for label
    maps. An identity grid returns the images up to float tolerance.
    """
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"mode must be 'bilinear', 'nearest' or 'bicubic', got {mode!r}")
    if images.ndim != 4:
        raise ValueError(f"images must be [N, C, H, W], got {tuple(images.shape)}")
    if grid.ndim != 4 or grid.shape[0] != images.shape[0] or grid.shape[-1] != 2:
        raise ValueError(f"grid must be [N={images.shape[0]}, H, W, 2], got {tuple(grid.shape)}")
    return F.grid_sample(images, grid.to(images.dtype), mode=mode, padding_mode="zeros", align_corners=False)


def sample_flip(n: int, probability: float, generator: torch.Generator) -> Tensor:
    """Draw flip flags ``[N]`` (bool), each True with ``probability`` (TorchIO RandomFlip's ``flip_probability``)."""
    _check_count(n)
    if not 0 <= probability <= 1:
        raise ValueError(f"probability must be in [0, 1], got {probability}")
    return torch.rand(n, device=generator.device, generator=generator) < probability


def flip(images: Tensor, flags: Tensor, dim: int) -> Tensor:
    """Flip the items of ``images [N, C, H, W]`` whose ``flags [N]`` (bool) are True along ``dim``.

    ``dim`` is the tensor dimension: 2 flips along H (up-down), 3 along W (left-right).
    """
    if dim not in (2, 3):
        raise ValueError(f"dim must be 2 (H) or 3 (W), got {dim}")
    if images.ndim != 4:
        raise ValueError(f"images must be [N, C, H, W], got {tuple(images.shape)}")
    if flags.dtype != torch.bool or flags.shape != images.shape[:1]:
        raise ValueError(f"flags must be a bool tensor [N={images.shape[0]}], got {flags.dtype} {tuple(flags.shape)}")
    return torch.where(flags.view(-1, 1, 1, 1), images.flip(dim), images)
