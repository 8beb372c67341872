"""Which array axis of the MNI model grid a slicing axis drops, and the 2D size that leaves.

The grid is ``[X, Y, Z]`` in RAS order (:class:`neuroicl.preprocess.grid.ModelGrid`); a slice keeps
the other two axes in that order, so ``H`` is left–right except for sagittal slices.

Example:
    >>> slice_size([48, 54, 48], "coronal")
    (48, 48)
"""

from __future__ import annotations

from collections.abc import Sequence

#: ``preprocess.slices.axis`` -> the grid axis it cuts along.
AXES = {"sagittal": 0, "coronal": 1, "axial": 2}


def axis_index(axis: str) -> int:
    """The grid axis of slicing axis ``axis``; an unknown name is an error naming the config key."""
    if axis not in AXES:
        raise ValueError(f"preprocess.slices.axis {axis!r} must be one of {list(AXES)}")
    return AXES[axis]


def slice_size(grid_shape: Sequence[int], axis: str) -> tuple[int, int]:
    """``(H, W)`` of the slices of a grid of ``grid_shape`` cut along ``axis``."""
    drop = axis_index(axis)
    height, width = (int(size) for i, size in enumerate(grid_shape) if i != drop)
    return height, width
