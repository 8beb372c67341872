"""Affine registration of a subject's T1w to the MNI152 template with ANTsPy (ISTN/Neuralizer preprocessing).

The template is brain-only. The default chain registers the deepbet-stripped T1w (brain to brain);
a whole head (``skullstrip: atlas``) needs the metric restricted to the template brain dilated by
``mask_dilation_mm`` ≈ 5 so that the skull cannot pull the fit (unmasked, the head is shrunk onto the
brain, ~12 % in scale, 8–12 mm error on the embedded cohort) and ``RigidAffine``; docs/preprocessing.md.
All matrices here are 4×4 world (RAS, mm) transforms.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])
TRANSFORMS = ("RigidAffine", "Affine", "AffineFast", "Rigid", "TRSAA")
# RigidAffine's first stage: rigid on the coarse levels only (the affine refines at full resolution)
RIGID_ITERATIONS = (1000, 500, 250, 0)


@dataclass(frozen=True)
class RegistrationSettings:
    """How the affine is estimated (config ``preprocess.registration``).

    transform: ANTsPy ``type_of_transform``, or RigidAffine: a coarse rigid stage, then Affine from it
    (a single Affine stage can settle in a wrong pitch; docs/preprocessing.md);
    iterations/shrink_factors/smoothing_sigmas: the affine schedule per level (None keeps ANTsPy's
    default for ``transform``); sampling_rate: fraction of voxels sampled by the metric;
    mask_dilation_mm: dilation of the template brain mask (None: no mask, the metric sees the whole
    template box).
    """

    transform: str = "Affine"
    iterations: tuple[int, ...] | None = None
    shrink_factors: tuple[int, ...] | None = None
    smoothing_sigmas: tuple[float, ...] | None = None
    sampling_rate: float = 0.2
    mask_dilation_mm: float | None = 0.0

    def __post_init__(self) -> None:
        if self.transform not in TRANSFORMS:
            raise ValueError(f"preprocess.registration.transform {self.transform!r} must be one of {TRANSFORMS}")
        schedule = [s for s in (self.iterations, self.shrink_factors, self.smoothing_sigmas) if s is not None]
        if len({len(s) for s in schedule}) > 1:
            raise ValueError(
                "preprocess.registration: iterations, shrink_factors and smoothing_sigmas need equal lengths"
            )
        if not 0 < self.sampling_rate <= 1:
            raise ValueError(f"preprocess.registration.sampling_rate must be in (0, 1], got {self.sampling_rate}")

    def ants_kwargs(self) -> dict[str, Any]:
        transform = "Affine" if self.transform == "RigidAffine" else self.transform
        kwargs: dict[str, Any] = {"type_of_transform": transform, "aff_random_sampling_rate": self.sampling_rate}
        if self.iterations is not None:
            kwargs["aff_iterations"] = tuple(self.iterations)
        if self.shrink_factors is not None:
            kwargs["aff_shrink_factors"] = tuple(self.shrink_factors)
        if self.smoothing_sigmas is not None:
            kwargs["aff_smoothing_sigmas"] = tuple(self.smoothing_sigmas)
        return kwargs


def to_ants(ants, data: np.ndarray, affine: np.ndarray):
    """An ANTs image (LPS physical space) of ``data [X, Y, Z]`` with RAS voxel→world ``affine``."""
    lps = _LPS @ affine
    spacing = np.linalg.norm(lps[:3, :3], axis=0)
    return ants.from_numpy(
        np.ascontiguousarray(data, dtype=np.float32),
        origin=tuple(lps[:3, 3]),
        spacing=tuple(spacing),
        direction=lps[:3, :3] / spacing,
    )


def ants_affine_to_ras(parameters: np.ndarray, fixed_parameters: np.ndarray) -> np.ndarray:
    """ITK AffineTransform (maps fixed LPS points to moving LPS points) as a RAS 4×4 matrix."""
    linear = np.asarray(parameters[:9], dtype=float).reshape(3, 3)
    center = np.asarray(fixed_parameters, dtype=float)
    matrix = np.eye(4)
    matrix[:3, :3] = linear
    matrix[:3, 3] = np.asarray(parameters[9:12], dtype=float) + center - linear @ center
    return _LPS @ matrix @ _LPS


def dilated_mask(mask: np.ndarray, affine: np.ndarray, millimetres: float) -> np.ndarray:
    """Dilate a boolean mask by a distance in mm (Euclidean)."""
    if millimetres <= 0:
        return mask
    spacing = np.linalg.norm(affine[:3, :3], axis=0)
    return ndimage.distance_transform_edt(~mask, sampling=spacing) <= millimetres


def register_to_template(
    ants,
    moving: np.ndarray,
    moving_affine: np.ndarray,
    template: np.ndarray,
    template_affine: np.ndarray,
    template_mask: np.ndarray,
    settings: RegistrationSettings,
) -> np.ndarray:
    """Estimate the native→MNI affine (4×4, RAS mm) of a whole-head T1w ``moving [X, Y, Z]``."""
    fixed = to_ants(ants, template, template_affine)
    mask = None
    if settings.mask_dilation_mm is not None:
        dilated = dilated_mask(template_mask, template_affine, settings.mask_dilation_mm)
        mask = to_ants(ants, dilated.astype(np.float32), template_affine)
    image = to_ants(ants, moving, moving_affine)
    with tempfile.TemporaryDirectory(prefix="neuroicl-reg-") as folder:
        initial = None
        if settings.transform == "RigidAffine":
            rigid = ants.registration(
                fixed,
                image,
                type_of_transform="Rigid",
                mask=mask,
                mask_all_stages=mask is not None,
                outprefix=str(Path(folder) / "r"),
                aff_iterations=RIGID_ITERATIONS,
                aff_random_sampling_rate=settings.sampling_rate,
            )
            initial = rigid["fwdtransforms"][0]
        result = ants.registration(
            fixed,
            image,
            mask=mask,
            mask_all_stages=mask is not None,
            initial_transform=initial,
            outprefix=str(Path(folder) / "x"),
            **settings.ants_kwargs(),
        )
        transform = ants.read_transform(result["fwdtransforms"][0])
        mni_to_native = ants_affine_to_ras(np.asarray(transform.parameters), np.asarray(transform.fixed_parameters))
    return np.linalg.inv(mni_to_native)


def affine_error_mm(estimated: np.ndarray, truth: np.ndarray, points: np.ndarray) -> tuple[float, float]:
    """Mean and max distance (mm) between two native→MNI affines over world ``points [N, 3]``."""
    homogeneous = np.c_[points, np.ones(len(points))]
    distance = np.linalg.norm((homogeneous @ (estimated - truth).T)[:, :3], axis=1)
    return float(distance.mean()), float(distance.max())
