"""Binary morphology on batched masks: dilation, erosion and contours with square structuring elements.

Masks are float ``[N, C, H, W]`` tensors with values in {0, 1}. Used by the mask tasks of the
Neuralizer supplement (Sec. C.1): "MaskContour … always dilated to a width of 3 voxels" and
"MaskDilation … dilated by 1 voxel".
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def _check(mask: Tensor, radius: int, name: str = "radius") -> None:
    if mask.ndim != 4 or not mask.is_floating_point():
        raise ValueError(f"mask must be a float tensor [N, C, H, W], got {mask.dtype} {tuple(mask.shape)}")
    if radius < 0:
        raise ValueError(f"{name} must be >= 0, got {radius}")


def dilate(mask: Tensor, radius: int) -> Tensor:
    """Dilate ``mask [N, C, H, W]`` by a ``(2 radius + 1)²`` square (max pooling); radius 0 is the identity.

    A pixel is set if any pixel within Chebyshev distance ``radius`` is set; pixels outside the image
    count as background.
    """
    _check(mask, radius)
    if radius == 0:
        return mask
    return F.max_pool2d(mask, kernel_size=2 * radius + 1, stride=1, padding=radius)


def erode(mask: Tensor, radius: int) -> Tensor:
    """Erode ``mask [N, C, H, W]`` by a ``(2 radius + 1)²`` square: the complement of the dilated complement.

    A pixel stays set only if every pixel within Chebyshev distance ``radius`` is set. Pixels outside
    the image count as background, so a full mask loses a ``radius``-wide frame at the image border.
    """
    _check(mask, radius)
    if radius == 0:
        return mask
    background = F.pad(1.0 - mask, (radius,) * 4, value=1.0)
    return 1.0 - F.max_pool2d(background, kernel_size=2 * radius + 1, stride=1)


def contour(mask: Tensor, width: int = 3) -> Tensor:
    """Contour of ``mask [N, C, H, W]`` as a band ``width`` pixels wide (odd ``width`` >= 1).

    The 1-pixel inner boundary (``mask - erode(mask, 1)``: set pixels with an unset 8-neighbour,
    or on the image border) dilated by ``(width - 1) / 2``, so the band is centred on the boundary:
    with the default 3, one pixel outside the object, the boundary pixel and one inside, as the
    Neuralizer's MaskContour task (supplement C.1) draws it.
    """
    if width < 1 or width % 2 == 0:
        raise ValueError(f"width must be an odd integer >= 1, got {width}")
    _check(mask, 0)
    return dilate(mask - erode(mask, 1), (width - 1) // 2)
