"""2D slices of a subject on the model grid: which slices are kept, and one subject's arrays.

The arrays and the store they are gathered into are described in :mod:`neuroicl.data.slice_store`.
"""

from __future__ import annotations

import numpy as np

from neuroicl.plan.slicing import axis_index


def select_slices(reference_mask: np.ndarray, axis: str, min_brain_fraction: float, step: int = 1) -> np.ndarray:
    """Indices along ``axis`` whose brain area in the reference mask is ≥ ``min_brain_fraction`` × the largest.

    Chosen on the reference (not the subject), so slice k is at the same MNI position in every subject.
    """
    other = tuple(a for a in range(3) if a != axis_index(axis))
    area = reference_mask.sum(axis=other)
    keep = np.flatnonzero(area >= min_brain_fraction * area.max())
    return keep[::step]


def cut(volume: np.ndarray, axis: str, indices: np.ndarray) -> np.ndarray:
    """Slices ``[S, H, W]`` of ``volume [X, Y, Z]`` (H, W in RAS order of the two remaining axes)."""
    return np.moveaxis(volume, axis_index(axis), 0)[indices]


def subject_slices(
    images: dict[str, np.ndarray],
    modalities: list[str],
    mask: np.ndarray,
    labels: np.ndarray | None,
    axis: str,
    indices: np.ndarray,
) -> dict[str, np.ndarray]:
    """Arrays of one subject (see module docstring); modalities missing from ``images`` are zeros."""
    shape = cut(mask, axis, indices).shape
    stack = np.zeros((shape[0], len(modalities), *shape[1:]), dtype=np.float16)
    for m, modality in enumerate(modalities):
        if modality in images:
            stack[:, m] = cut(images[modality], axis, indices)
    return {
        "images": stack,
        "mask": cut(mask, axis, indices).astype(np.uint8),
        "labels": np.zeros(shape, np.uint8) if labels is None else cut(labels, axis, indices).astype(np.uint8),
        "slice": np.asarray(indices, dtype=np.int32),
        "available": np.array([m in images for m in modalities]),
    }
