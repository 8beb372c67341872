"""N4 bias-field correction and intensity normalization, both within the brain mask."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuroicl.preprocess.register import to_ants

NORMALIZATIONS = ("percentile", "zscore")


@dataclass(frozen=True)
class N4Settings:
    """ANTs N4 (config ``preprocess.n4``): shrink factor, iterations per fitting level, tolerance."""

    shrink_factor: int = 2
    iterations: tuple[int, ...] = (50, 50, 50)
    tolerance: float = 1e-6
    spline_distance_mm: float = 100.0


def n4(
    ants, image: np.ndarray, mask: np.ndarray, affine: np.ndarray, settings: N4Settings
) -> tuple[np.ndarray, np.ndarray]:
    """Bias-correct ``image [X, Y, Z]`` within ``mask``; returns (corrected, bias field)."""
    if not mask.any():
        raise ValueError("N4: the brain mask is empty")
    field = ants.n4_bias_field_correction(
        to_ants(ants, np.maximum(image, 0), affine),
        mask=to_ants(ants, mask.astype(np.float32), affine),
        shrink_factor=settings.shrink_factor,
        convergence={"iters": list(settings.iterations), "tol": settings.tolerance},
        spline_param=settings.spline_distance_mm,
        return_bias_field=True,
    ).numpy()
    field = np.where(field > 0, field, 1.0).astype(np.float32)
    return (image / field).astype(np.float32), field


def normalize(
    image: np.ndarray, mask: np.ndarray, method: str = "percentile", percentiles: tuple[float, float] = (0.5, 99.5)
) -> np.ndarray:
    """Normalize within the brain: robust percentiles → [0, 1] (clipped), or z-score (ISTN)."""
    if method not in NORMALIZATIONS:
        raise ValueError(f"preprocess.normalization {method!r} must be one of {NORMALIZATIONS}")
    inside = image[mask]
    if inside.size == 0:
        raise ValueError("normalize: the brain mask is empty")
    if method == "zscore":
        return ((image - inside.mean()) / max(float(inside.std()), 1e-6)).astype(np.float32)
    low, high = np.percentile(inside, percentiles)
    return np.clip((image - low) / max(float(high - low), 1e-6), 0, 1).astype(np.float32)
