"""Precomputed anatomy the cohort generator samples from (built once per reference, cached as .npz).

Fine grid: the template grid (1 mm) padded so that head layers fit around the brain.
Coarse grid: the same box at ``coarse_mm`` spacing, where deformations live.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from neuroicl.data import labels as L
from neuroicl.data.reference import Reference

# padding (voxels) before/after each axis: the template box ends at the brainstem below (z)
PAD = ((12, 12), (12, 12), (30, 8))


@dataclass(frozen=True)
class Anatomy:
    """Fields in MNI space.

    fine_affine: voxel→MNI of the fine grid; dseg [X, Y, Z] uint8 cohort labels;
    outside_mm [X, Y, Z]: distance outside the brain mask (0 inside);
    cortex_depth [X, Y, Z]: relative cortical depth (0 at the pial side, 1 at white matter; 1 elsewhere);
    coarse_affine: voxel→MNI of the coarse grid; coarse_brain [X', Y', Z'] bool;
    ventricle_pull [3, X', Y', Z']: unit-peak gradient of smoothed lateral ventricles (points inwards);
    sex_pull [3, X', Y', Z']: the same of the putamen and pallidum (the cohort's sex effect; a velocity along it
    grows the structures, against it shrinks them);
    head_center [3]: centre of the brain's bounding box (mm).
    """

    fine_affine: np.ndarray
    dseg: np.ndarray
    outside_mm: np.ndarray
    cortex_depth: np.ndarray
    coarse_affine: np.ndarray
    coarse_brain: np.ndarray
    ventricle_pull: np.ndarray
    sex_pull: np.ndarray
    head_center: np.ndarray


def _padded_affine(affine: np.ndarray) -> np.ndarray:
    shifted = affine.copy()
    shifted[:3, 3] -= affine[:3, :3] @ np.array([before for before, _ in PAD])
    return shifted


def _relative_depth(dseg: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    cortex = np.isin(dseg, L.CORTEX)
    to_outside = ndimage.distance_transform_edt(cortex | np.isin(dseg, L.WHITE_MATTER), sampling=spacing)
    to_white = ndimage.distance_transform_edt(~np.isin(dseg, L.WHITE_MATTER), sampling=spacing)
    depth = np.ones(dseg.shape, dtype=np.float32)
    total = to_outside + to_white
    depth[cortex] = (to_outside[cortex] / np.maximum(total[cortex], 1e-6)).astype(np.float32)
    return depth


def _pull(mask: np.ndarray, coarse_mm: float) -> np.ndarray:
    """Unit-peak gradient ``[3, X', Y', Z']`` of the mask smoothed by 6 mm: points into the structure, so a
    velocity along it grows the structure (the atlas is sampled from further inside)."""
    smooth = ndimage.gaussian_filter(mask.astype(np.float32), sigma=6.0 / coarse_mm)
    pull = np.stack(np.gradient(smooth, coarse_mm), axis=0)
    pull /= max(float(np.linalg.norm(pull, axis=0).max()), 1e-12)
    return pull.astype(np.float32)


def build_anatomy(reference: Reference, coarse_mm: float = 4.0) -> Anatomy:
    """Derive the generator's fields from the reference anatomy (a few seconds, done once)."""
    spacing = np.abs(np.diag(reference.affine)[:3])
    dseg = np.pad(reference.dseg, PAD)
    brain = np.pad(reference.brain, PAD)
    fine_affine = _padded_affine(reference.affine)
    outside = ndimage.distance_transform_edt(~brain, sampling=spacing).astype(np.float32)

    step = int(round(coarse_mm / spacing[0]))
    coarse_affine = fine_affine.copy()
    coarse_affine[:3, :3] *= step
    coarse_brain = brain[::step, ::step, ::step]
    coarse = dseg[::step, ::step, ::step]

    index = np.argwhere(brain)
    center_voxel = (index.min(axis=0) + index.max(axis=0)) / 2
    return Anatomy(
        fine_affine=fine_affine,
        dseg=dseg,
        outside_mm=outside,
        cortex_depth=_relative_depth(dseg, spacing),
        coarse_affine=coarse_affine,
        coarse_brain=coarse_brain,
        ventricle_pull=_pull(np.isin(coarse, L.LATERAL_VENTRICLES), coarse_mm),
        sex_pull=_pull(np.isin(coarse, L.SEX_DIMORPHIC), coarse_mm),
        head_center=fine_affine[:3, :3] @ center_voxel + fine_affine[:3, 3],
    )
