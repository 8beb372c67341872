"""Read and validate one subject's images; every failure names the subject and the file.

Checks: readable (a truncated or corrupt .nii.gz), 3D (a 4D image or a 2D image is an error), finite
(no NaN/Inf), not all zero, and the same grid for every modality of the subject.
"""

from __future__ import annotations

from dataclasses import dataclass

import nibabel as nib
import numpy as np


class InputError(ValueError):
    """A subject's input file cannot be preprocessed; the message names subject, file and reason."""


@dataclass(frozen=True)
class SubjectImages:
    """Images of one subject on their common native grid, reoriented to canonical (RAS) axes.

    data: modality → ``[X, Y, Z]`` float32; affine: voxel→world (RAS mm), shared by every modality.
    """

    subject: str
    data: dict[str, np.ndarray]
    affine: np.ndarray


def read_volume(subject: str, path: str, dtype: type = np.float32) -> nib.Nifti1Image:
    """Load one 3D image reoriented to canonical axes, with its voxels checked."""
    try:
        image = nib.load(path)
        data = np.asarray(image.dataobj, dtype=dtype)
    except Exception as error:  # nibabel raises many types for broken files
        raise InputError(
            f"{subject}: cannot read {path} ({type(error).__name__}: {error}); is the file truncated or corrupt?"
        ) from error
    if data.ndim != 3:
        raise InputError(f"{subject}: {path} has shape {data.shape}; a 3D image is expected")
    if min(data.shape) < 2:
        raise InputError(f"{subject}: {path} has shape {data.shape}, which is a 2D image; a 3D volume is expected")
    if not np.isfinite(data).all():
        raise InputError(f"{subject}: {path} contains {np.count_nonzero(~np.isfinite(data))} NaN/Inf voxels")
    if not data.any():
        raise InputError(f"{subject}: {path} is all zero")
    return nib.as_closest_canonical(nib.Nifti1Image(data, image.affine))


def read_subject(subject: str, paths: dict[str, str]) -> SubjectImages:
    """Read every modality of a subject (``paths``: modality → file); all must share one grid."""
    images = {modality: read_volume(subject, path) for modality, path in paths.items()}
    first_modality, first = next(iter(images.items()))
    for modality, image in images.items():
        if image.shape != first.shape or not np.allclose(image.affine, first.affine, atol=1e-3):
            raise InputError(
                f"{subject}: {paths[modality]} has shape {image.shape} and affine {np.round(image.affine, 3).tolist()} "
                f"but {paths[first_modality]} has {first.shape} and {np.round(first.affine, 3).tolist()}; "
                "modalities must share one grid"
            )
    return SubjectImages(subject, {m: np.asarray(i.dataobj, dtype=np.float32) for m, i in images.items()}, first.affine)
