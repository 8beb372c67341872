"""The model grid: a box in MNI space on which preprocessing ends and slices are cut.

Volumes on it are ``[X, Y, Z]`` (RAS axes); coronal slices are ``[X, Z]`` planes along Y.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class ModelGrid:
    """``shape`` voxels of ``spacing_mm`` centred at ``center_mm`` (MNI, RAS)."""

    shape: tuple[int, int, int]
    spacing_mm: float
    center_mm: tuple[float, float, float]

    def __post_init__(self) -> None:
        if len(self.shape) != 3 or min(self.shape) < 1 or self.spacing_mm <= 0:
            raise ValueError(
                f"preprocess.grid: shape {self.shape} must be 3 positive ints and spacing_mm {self.spacing_mm} > 0"
            )

    @property
    def affine(self) -> np.ndarray:
        affine = np.diag([self.spacing_mm] * 3 + [1.0])
        affine[:3, 3] = np.asarray(self.center_mm) - self.spacing_mm * (np.asarray(self.shape) - 1) / 2
        return affine


def resample(
    data: np.ndarray, affine: np.ndarray, native_to_mni: np.ndarray, grid: ModelGrid, order: int = 1
) -> np.ndarray:
    """Resample ``data [X, Y, Z]`` (voxel→world ``affine``) onto the grid through ``native_to_mni``.

    order 1 (linear) for images, 0 (nearest) for labels and masks; outside the image is 0.
    """
    voxel_map = np.linalg.inv(affine) @ np.linalg.inv(native_to_mni) @ grid.affine
    out = ndimage.affine_transform(
        data, voxel_map[:3, :3], voxel_map[:3, 3], output_shape=grid.shape, order=order, mode="constant", cval=0.0
    )
    return out.astype(data.dtype, copy=False)
