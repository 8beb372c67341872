"""Learning-based skull stripping with deepbet, run in process on a volume in memory.

deepbet (Fisch et al., "deepbet: Fast brain extraction of T1-weighted MRI using Convolutional Neural
Networks", Comput. Biol. Med. 179:108845, 2024; PyPI ``deepbet==1.0.2``, MIT) is two TorchScript 3D
U-Nets trained on T1w scans of adults. Its ``BrainExtraction`` does, and so do we (sec. 2 of the paper):

    1. reorient to the closest canonical (RAS) axes — permutes and flips only, no resampling;
    2. bounding-box net on the whole volume resized (nearest) to 128³, intensities scaled by the
       0.5 / 99.5 % quantiles; keep its largest component; box + 10 % margin;
    3. brain net on the box resized (nearest) to 256³; probability resized back onto the box;
    4. ``probability > threshold`` (0.5), keep the largest 26-connected component, fill holes.

So deepbet needs no particular voxel size or orientation: every box is stretched to 256³ anyway.
We undo step 1 so the mask lies on the input grid, and call deepbet's own pieces for 2–4.

Weights: deepbet reads ``deepbet.utils.DATA_PATH + "/models/{model,bbox_model}.pt"`` where
``DATA_PATH`` is the folder *above* the ``deepbet`` package plus ``/data`` — its wheel installs a
top-level ``<site-packages>/data/models/`` folder (not relative to ``sys.prefix``). Nothing is
downloaded at run time; we check both files against the sha256 of the 1.0.2 wheel before use.

Shapes: image ``[X, Y, Z]`` (one 3D volume, any orientation), affine ``[4, 4]`` voxel → mm;
the mask and probability are ``[X, Y, Z]`` on the same grid.

Example:
    >>> brain = deepbet_mask(nib.load("sub-001_T1w.nii.gz"), threads=2)  # bool [X, Y, Z]
    >>> brain = deepbet_mask(data, affine, threads=2)  # same, from an array and its affine
"""

from __future__ import annotations

import functools
import hashlib
import threading
import warnings
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import nibabel as nib
import numpy as np
import torch

if TYPE_CHECKING:
    from deepbet import BrainExtraction

DEEPBET_VERSION = "1.0.2"
WEIGHT_SHA256 = {  # from the RECORD of deepbet-1.0.2-py3-none-any.whl
    "model": "de8ee7c69654d0dd3935dc4a5d84571d8ecf4637a6bfc01df399c4c2bc86e0fd",
    "bbox_model": "39a7b2b5f799faa1391ea97bfcdc0b9299f20d84f2316a4ff8918dc4685e40aa",
}
_INSTALL = f"pip install deepbet=={DEEPBET_VERSION}"
_LOCK = threading.Lock()  # torch.set_num_threads is process-wide and BrainExtraction keeps state
_RAS = np.array([[0, 1], [1, 1], [2, 1]])

ImageLike = nib.spatialimages.SpatialImage | tuple[np.ndarray, np.ndarray]


def _import_deepbet() -> ModuleType:
    """The ``deepbet`` module, or an ImportError that says how to install it."""
    try:
        import deepbet
        import deepbet.utils
    except ImportError as error:
        raise ImportError(
            f"deepbet skull stripping needs the deepbet package: {_INSTALL} (its weights ship in the wheel)"
        ) from error
    return deepbet


@functools.lru_cache(maxsize=1)
def weight_paths() -> dict[str, Path]:
    """Paths of deepbet's two weight files, checked to exist and to match the 1.0.2 wheel.

    Raises:
        ImportError: deepbet is not installed.
        FileNotFoundError / ValueError: a weight file is missing or differs from the 1.0.2 wheel.
    """
    deepbet = _import_deepbet()
    folder = Path(deepbet.utils.DATA_PATH) / "models"
    reinstall = f"reinstall with `pip install --force-reinstall --no-deps deepbet=={DEEPBET_VERSION}`"
    paths = {}
    for name, expected in WEIGHT_SHA256.items():
        path = folder / f"{name}.pt"
        if not path.is_file():
            raise FileNotFoundError(f"deepbet weight file {path} is missing; {reinstall}")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != expected:
            raise ValueError(
                f"deepbet weight file {path} has sha256 {digest}, not that of deepbet {DEEPBET_VERSION}; {reinstall}"
            )
        paths[name] = path
    return paths


@functools.lru_cache(maxsize=2)
def _extractor(device: str) -> BrainExtraction:
    """deepbet's ``BrainExtraction`` with both nets in eval mode on ``device`` (loaded once)."""
    deepbet = _import_deepbet()
    paths = weight_paths()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.load.*deprecated", category=DeprecationWarning)
        bet = deepbet.BrainExtraction(
            no_gpu=True, model_path=str(paths["model"]), bbox_model_path=str(paths["bbox_model"])
        )
    bet.model.to(device)
    bet.bbox_model.to(device)
    return bet


def as_volume(image: ImageLike | np.ndarray, affine: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(data [X, Y, Z] float32, affine [4, 4] float64)`` from a nibabel image, an ``(array, affine)``
    pair, or an array and ``affine``.

    Raises:
        TypeError: ``image`` is none of these.
        ValueError: ``affine`` given twice; the data are not one 3D volume, not finite, or constant;
            the affine is not an invertible 4×4 matrix.
    """
    if affine is not None and not isinstance(image, np.ndarray):
        raise ValueError(
            f"affine is only for an array image; a {type(image).__name__} carries its own — drop the affine argument"
        )
    if isinstance(image, nib.spatialimages.SpatialImage):
        data, affine = np.asanyarray(image.dataobj), image.affine
    elif isinstance(image, tuple) and len(image) == 2:
        data, affine = image
    elif isinstance(image, np.ndarray) and affine is not None:
        data = image
    else:
        raise TypeError(
            "image must be a nibabel image, an (array, affine) pair, or an array with affine=, got "
            f"{type(image).__name__}"
        )
    data, affine = np.asarray(data, dtype=np.float32), np.asarray(affine, dtype=np.float64)
    if data.ndim != 3:
        raise ValueError(
            f"image must be one 3D volume [X, Y, Z], got shape {data.shape}; pass a single volume, e.g. data[..., 0]"
        )
    if min(data.shape) < 2:
        raise ValueError(f"image must have at least 2 voxels along each axis, got shape {data.shape}")
    if not np.isfinite(data).all():
        raise ValueError("image contains NaN or inf; replace them (e.g. np.nan_to_num) before skull stripping")
    if data.max() <= data.min():
        raise ValueError(f"image is constant ({data.min()}); deepbet needs an intensity image of a head")
    if affine.shape != (4, 4) or not np.isfinite(affine).all() or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise ValueError(f"affine must be a finite, invertible 4x4 voxel-to-mm matrix, got {affine.tolist()}")
    return data, affine


def _check_threads(threads: int) -> None:
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be an integer ≥ 1, got {threads!r}")


def _check_threshold(threshold: float) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold < 1:
        raise ValueError(f"threshold must be a number in (0, 1), got {threshold!r}; deepbet's default is 0.5")


def deepbet_probability(
    image: ImageLike | np.ndarray, affine: np.ndarray | None = None, *, threads: int = 2, device: str = "cpu"
) -> np.ndarray:
    """deepbet's brain probability ``[X, Y, Z]`` (float32 in [0, 1]) on the input grid, before thresholding.

    Zero outside deepbet's bounding box. Deterministic for a given ``threads`` and device; uses no RNG.

    Args:
        image: a T1w head: nibabel image, ``(array [X, Y, Z], affine [4, 4])``, or array [X, Y, Z].
        affine: ``[4, 4]`` voxel → mm, only when ``image`` is an array.
        threads: torch CPU threads for this call (the previous setting is restored).
        device: torch device of the nets, e.g. ``"cpu"`` or ``"cuda"``.
    """
    data, affine = as_volume(image, affine)
    _check_threads(threads)
    orientation = nib.orientations.io_orientation(affine)
    canonical = np.ascontiguousarray(nib.orientations.apply_orientation(data, orientation))
    bet = _extractor(str(torch.device(device)))
    with _LOCK:
        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            probability = bet.run_model(canonical)
        except AssertionError as error:  # deepbet asserts when its box net finds no head
            raise ValueError(
                f"deepbet found no brain-like foreground in the image ({error}); is it a T1w head scan?"
            ) from error
        finally:
            torch.set_num_threads(previous)
    back = nib.orientations.ornt_transform(_RAS, orientation)
    return np.ascontiguousarray(nib.orientations.apply_orientation(probability, back), dtype=np.float32)


def postprocess(probability: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """deepbet's step 4: ``probability > threshold``, largest 26-connected component, holes filled.

    ``probability [X, Y, Z]`` -> bool ``[X, Y, Z]``. Orientation does not matter (the operations
    commute with axis flips and permutations).
    """
    _check_threshold(threshold)
    deepbet = _import_deepbet()
    import fill_voids  # a dependency of deepbet

    mask = np.asarray(probability) > threshold
    if not mask.any():
        raise ValueError(
            f"deepbet found no voxel above threshold {threshold}; lower the threshold or check the image is a T1w head"
        )
    mask = deepbet.utils.keep_largest_connected_component(mask)
    return fill_voids.fill(mask, in_place=True).astype(bool, copy=False)


def deepbet_mask(
    image: ImageLike | np.ndarray,
    affine: np.ndarray | None = None,
    *,
    threads: int = 2,
    threshold: float = 0.5,
    device: str = "cpu",
) -> np.ndarray:
    """Brain mask of a T1w head with deepbet: bool ``[X, Y, Z]`` on the input grid.

    Args:
        image: nibabel image, ``(array [X, Y, Z], affine [4, 4])``, or array [X, Y, Z]; any
            orientation and voxel size.
        affine: ``[4, 4]`` voxel → mm, only when ``image`` is an array.
        threads: torch CPU threads for this call (restored afterwards).
        threshold: probability threshold in (0, 1); deepbet's default 0.5.
        device: torch device of the nets.

    Raises:
        ImportError: deepbet is not installed (``pip install deepbet==1.0.2``).
        FileNotFoundError / ValueError: its weight files are missing or not those of 1.0.2.
        ValueError / TypeError: a bad input (see :func:`as_volume`), or deepbet finds no brain.
    """
    _check_threshold(threshold)
    return postprocess(deepbet_probability(image, affine, threads=threads, device=device), threshold)
