"""The files of one ``neuroicl predict`` call: read and check them all before any work, map a prediction on
the model grid back onto a target's native grid, and write it atomically with the target's header.

Every error is an :class:`neuroicl.preprocess.inputs.InputError` (a ValueError) that names the file: an
unreadable, non-3D, non-finite or all-zero volume (:func:`neuroicl.preprocess.inputs.read_volume`), a
context mask that is empty or not binary, a context pair whose two files lie on different grids, and
context-in / context-out lists of different lengths.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import nibabel as nib
import numpy as np
from scipy import ndimage

from neuroicl.core.io import atomic_path
from neuroicl.preprocess.grid import ModelGrid
from neuroicl.preprocess.inputs import InputError, read_volume

#: Affines of a context pair may differ by this much (mm) and still be one grid (as modalities of a subject).
AFFINE_TOLERANCE = 1e-3


@dataclass(frozen=True)
class Volume:
    """One input file, read and checked: ``data [X, Y, Z]`` float32 and ``affine`` in canonical (RAS) axes;
    ``file_shape`` and ``file_affine``: the file's own voxel grid (its axis order), where its prediction goes."""

    path: str
    data: np.ndarray
    affine: np.ndarray
    file_shape: tuple[int, ...]
    file_affine: np.ndarray


@dataclass(frozen=True)
class ContextPair:
    """A context item: its input image and its output (a binary mask, or an image), on one grid."""

    image: Volume
    output: Volume


def read_input(path: str | os.PathLike, role: str) -> Volume:
    """Read one volume with the pipeline's checks (readable, 3D, finite, not all zero); ``role`` names it."""
    image = read_volume(role, str(path))
    header = nib.load(path)
    return Volume(str(path), np.asarray(image.dataobj, dtype=np.float32), image.affine, tuple(header.shape),
                  header.affine)


def read_mask(path: str | os.PathLike, role: str) -> Volume:
    """Read a context mask: as :func:`read_input`, and binary (only 0 and 1) and not empty."""
    try:
        volume = read_input(path, role)
    except InputError as error:
        if "is all zero" in str(error):
            raise InputError(f"{role}: the mask {path} is empty (no voxel is 1); every context mask needs a "
                             "foreground") from error
        raise
    values = np.unique(volume.data)
    if not np.isin(values, (0.0, 1.0)).all():
        shown = ", ".join(f"{v:g}" for v in values[:6]) + (", ..." if len(values) > 6 else "")
        raise InputError(f"{role}: {path} is not a binary mask (values {shown}); give a 0/1 mask of the structure, "
                         "e.g. one class of a label map")
    return dataclasses.replace(volume, data=volume.data.astype(np.uint8))


def read_pairs(inputs: list[str], outputs: list[str], binary: bool) -> list[ContextPair]:
    """Read the context pairs (``inputs[j]`` with ``outputs[j]``); ``binary``: the outputs are masks."""
    if len(inputs) != len(outputs):
        raise InputError(f"--context-in gives {len(inputs)} file(s) but --context-out {len(outputs)}; each context "
                         f"input needs its output: {inputs} vs {outputs}")
    pairs = []
    for j, (image_path, output_path) in enumerate(zip(inputs, outputs, strict=True), start=1):
        image = read_input(image_path, f"context-in {j}")
        output = (read_mask if binary else read_input)(output_path, f"context-out {j}")
        if image.data.shape != output.data.shape or not np.allclose(image.affine, output.affine,
                                                                    atol=AFFINE_TOLERANCE):
            raise InputError(
                f"context pair {j}: {output_path} has shape {output.data.shape} and affine "
                f"{np.round(output.affine, 3).tolist()} but {image_path} has {image.data.shape} and "
                f"{np.round(image.affine, 3).tolist()}; a context output must lie on its input's grid"
            )
        pairs.append(ContextPair(image, output))
    return pairs


def to_native(volume: np.ndarray, grid: ModelGrid, native_to_mni: np.ndarray, shape: tuple[int, ...],
              affine: np.ndarray, order: int = 1) -> np.ndarray:
    """Resample ``volume [X, Y, Z]`` on the model grid onto a native grid (``shape``, voxel→world ``affine``).

    The inverse of :func:`neuroicl.preprocess.grid.resample`: each native voxel is carried into MNI space by
    ``native_to_mni`` (the estimated affine of the chain) and read off the grid; outside the grid is 0.
    ``affine`` may be the file's own (any axis order): world coordinates do not depend on the reorientation.
    order 1 (linear) for images and probabilities, 0 (nearest) for labels.
    """
    voxel_map = np.linalg.inv(grid.affine) @ native_to_mni @ affine
    return ndimage.affine_transform(volume.astype(np.float32), voxel_map[:3, :3], voxel_map[:3, 3],
                                    output_shape=tuple(shape), order=order, mode="constant", cval=0.0)


def write_like(path: str | os.PathLike, data: np.ndarray, reference: str | os.PathLike) -> None:
    """Write ``data`` (on ``reference``'s own voxel grid, its axis order) with ``reference``'s header, atomically:
    a temporary sibling renamed onto ``path``, so a failure never leaves a partial file."""
    source = nib.load(reference)
    header = source.header.copy()
    header.set_data_dtype(data.dtype)
    header.set_slope_inter(1.0, 0.0)
    image = nib.Nifti1Image(data, source.affine, header)
    with atomic_path(path) as temporary:
        nib.save(image, temporary)

