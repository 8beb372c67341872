"""Geometry for the cohort generator: orientations, poses, smooth diffeomorphisms, world-space sampling.

Volumes are arrays ``[C, X, Y, Z]`` with a 4×4 voxel-to-world affine (RAS, mm); point sets are
``[..., 3]`` world coordinates. Sampling uses ``torch.nn.functional.grid_sample`` (multi-threaded,
deterministic on the CPU).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from neuroicl.plan.cohort import ORIENTATION_AXES, check_orientation


def orientation_matrix(code: str) -> np.ndarray:
    """3×3 matrix whose column i is the world direction of voxel axis i, for a code such as 'LPS'.

    Raises ValueError unless the code names each of the three world axes once.
    """
    check_orientation(code)
    matrix = np.zeros((3, 3))
    for i, c in enumerate(code):
        axis, sign = ORIENTATION_AXES[c]
        matrix[axis, i] = sign
    return matrix


def rotation_matrix(angles_deg: np.ndarray) -> np.ndarray:
    """Rotation about x, then y, then z by the given angles (degrees): ``Rz @ Ry @ Rx``."""
    ax, ay, az = np.deg2rad(np.asarray(angles_deg, dtype=float))
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


def pose_matrix(angles_deg: np.ndarray, translation_mm: np.ndarray, scale: float) -> np.ndarray:
    """The native→MNI transform (4×4) of a head placed in the scanner as ``x = R (scale · m) + t``."""
    rotation = rotation_matrix(angles_deg)
    native_to_mni = np.eye(4)
    native_to_mni[:3, :3] = rotation.T / scale
    native_to_mni[:3, 3] = -rotation.T @ np.asarray(translation_mm, dtype=float) / scale
    return native_to_mni


def grid_affine(code: str, voxel_size: np.ndarray, shape: tuple[int, int, int], center: np.ndarray) -> np.ndarray:
    """Voxel→world affine of a grid with orientation ``code`` whose centre lies at ``center`` (mm)."""
    linear = orientation_matrix(code) @ np.diag(np.asarray(voxel_size, dtype=float))
    affine = np.eye(4)
    affine[:3, :3] = linear
    affine[:3, 3] = np.asarray(center, dtype=float) - linear @ ((np.asarray(shape) - 1) / 2)
    return affine


def grid_points(shape: tuple[int, ...], affine: np.ndarray) -> torch.Tensor:
    """World coordinates ``[X, Y, Z, 3]`` (float32) of every voxel centre of a grid."""
    axes = [torch.arange(n, dtype=torch.float64) for n in shape]
    index = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)
    a = torch.as_tensor(affine, dtype=torch.float64)
    return (index @ a[:3, :3].T + a[:3, 3]).to(torch.float32)


def transform_points(matrix: np.ndarray, points: torch.Tensor) -> torch.Tensor:
    """Apply a 4×4 affine to world points ``[..., 3]``."""
    m = torch.as_tensor(matrix, dtype=points.dtype)
    return points @ m[:3, :3].T + m[:3, 3]


def sample(volume: torch.Tensor, affine: np.ndarray, points: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    """Sample ``volume [C, X, Y, Z]`` (voxel→world ``affine``) at world ``points [..., 3]`` → ``[..., C]``.

    ``mode`` is 'bilinear' (trilinear in 3D) or 'nearest'; points outside take the border value.
    """
    inverse = torch.as_tensor(np.linalg.inv(affine), dtype=torch.float32)
    index = points @ inverse[:3, :3].T + inverse[:3, 3]
    size = torch.tensor(volume.shape[1:], dtype=torch.float32)
    normalized = (2 * index / (size - 1) - 1).flip(-1)  # grid_sample wants (z, y, x) → (W, H, D)
    spatial = points.shape[:-1]
    grid = normalized.reshape(1, -1, 1, 1, 3)
    out = F.grid_sample(volume[None].float(), grid, mode=mode, padding_mode="border", align_corners=True)
    return out[0, :, :, 0, 0].T.reshape(*spatial, volume.shape[0])


def integrate_velocity(velocity: torch.Tensor, affine: np.ndarray, steps: int = 6) -> torch.Tensor:
    """Displacement ``[3, X, Y, Z]`` (mm) of ``exp(v)`` by scaling and squaring (a diffeomorphism).

    ``velocity [3, X, Y, Z]`` is a stationary velocity field in mm on the grid ``affine``.
    """
    points = grid_points(tuple(velocity.shape[1:]), affine)
    displacement = velocity / 2**steps
    for _ in range(steps):
        moved = points + displacement.permute(1, 2, 3, 0)
        displacement = displacement + sample(displacement, affine, moved).permute(3, 0, 1, 2)
    return displacement


def remove_affine(displacement: torch.Tensor, affine: np.ndarray, mask: np.ndarray) -> torch.Tensor:
    """Subtract the least-squares affine fit (over ``mask`` voxels) from a displacement ``[3, X, Y, Z]``.

    What remains is purely nonlinear: a warp of the atlas by it has no affine component that a
    registration could (or should) recover, so the saved pose is the whole affine truth.
    """
    points = grid_points(tuple(displacement.shape[1:]), affine).reshape(-1, 3).double().numpy()
    design = np.concatenate([points, np.ones((len(points), 1))], axis=1)
    values = displacement.reshape(3, -1).T.double().numpy()
    inside = mask.reshape(-1)
    beta, *_ = np.linalg.lstsq(design[inside], values[inside], rcond=None)
    residual = values - design @ beta
    return torch.as_tensor(residual.T.reshape(displacement.shape), dtype=torch.float32)
