"""The per-sample TorchIO path for the tasks TorchIO covers: the reference our batched ops replace.

One item at a time, on the CPU: a ``[C, H, W]`` image becomes a TorchIO ``ScalarImage`` of shape
``[C, H, W, 1]`` (1 mm spacing, so pixels = mm) and a ``[H, W]`` label map a ``LabelMap``. Ranges
are the defaults of the task and augmentation settings (= ``tasks.settings`` and
``tasks.augmentations.settings`` in config/config.yaml). Which TorchIO 1.2.1 transforms, and what
replaces them in the batched path (:mod:`neuroicl.tasks.ops`):

* motion — ``RandomMotion.get_params(is_2d=True)`` + ``Motion`` -> ``ops.kspace.apply_motion``.
  ``Motion`` splits k-space along the *last* spatial axis (TorchIO issue #81), which for a
  ``[C, H, W, 1]`` slice is the singleton one: the result is the last pose rigidly moved, without
  artefact. So the slice is laid out ``[C, H, 1, W]`` (phase encoding along W, as in ours) and
  the in-plane parameters are moved onto that layout; ``RandomMotion`` itself would then rotate
  out of plane.
* denoising — ``RandomBiasField`` then ``RandomNoise`` -> ``ops.noise``. TorchIO has no Rician
  noise: this path is always Gaussian (ours is Rician with ``rician_probability``).
* super-resolution — ``RandomAnisotropy`` (one axis) or ``Resample`` down (nearest) and back
  (linear) along both -> ``ops.resample.degrade_resolution`` (which also anti-aliases).
* spatial augmentations — ``RandomAffine``, ``RandomElasticDeformation``, ``RandomFlip`` on a
  ``Subject`` of image + label map -> ``ops.spatial``.

Randomness: TorchIO draws from the global torch RNG; :func:`per_sample` (and :func:`seeded`, for
calling the task functions directly) seeds it with ``torch.manual_seed(rng_seed)`` inside
``torch.random.fork_rng``, so the global RNG is left as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
import torchio as tio
from torch import Tensor

from neuroicl.tasks.augment import AffineSettings, ElasticSettings
from neuroicl.tasks.catalog import DenoisingSettings, MotionSettings, ResolutionSettings

TASKS = ("motion", "denoising", "super_resolution", "spatial")


@contextmanager
def seeded(rng_seed: int) -> Iterator[None]:
    """Seed TorchIO's draws (the global torch CPU RNG) with ``rng_seed``; restore the RNG on exit."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(rng_seed)
        yield


def _uniform(bounds: tuple[float, float]) -> float:
    """One draw uniform in ``bounds`` from the (forked, seeded) global torch RNG."""
    return float(bounds[0] + (bounds[1] - bounds[0]) * torch.rand(()))


def _scalar(image: Tensor) -> tio.ScalarImage:
    """``[C, H, W]`` -> ScalarImage ``[C, H, W, 1]`` (float32, CPU)."""
    return tio.ScalarImage(tensor=image.detach().float().cpu()[..., None])


def motion(image: Tensor, settings: MotionSettings | None = None) -> Tensor:
    """``[C, H, W]`` -> ``[C, H, W]`` with k-space motion artefacts along W (module docstring)."""
    settings = settings or MotionSettings()
    random = tio.RandomMotion(num_transforms=settings.transforms)
    degrees, shift = _uniform(settings.degrees), _uniform(settings.translation_px)
    times, angles, shifts = random.get_params((-degrees, degrees), (-shift, shift), settings.transforms, is_2d=True)
    in_plane = np.zeros_like(angles)
    in_plane[:, 1] = angles[:, 2]  # rotation about the singleton axis, now axis 1
    moved = np.stack([shifts[:, 0], np.zeros_like(shifts[:, 0]), shifts[:, 1]], axis=1)
    transform = tio.Motion(degrees=in_plane, translation=moved, times=times, image_interpolation="linear")
    scalar = tio.ScalarImage(tensor=image.detach().float().cpu()[:, :, None, :])  # [C, H, 1, W]
    return transform(scalar).data[:, :, 0, :]


def denoising(image: Tensor, settings: DenoisingSettings | None = None) -> Tensor:
    """``[C, H, W]`` -> ``[C, H, W]``: polynomial bias field, then Gaussian noise of std in ``sigma``."""
    settings = settings or DenoisingSettings()
    bias = tio.RandomBiasField(coefficients=_uniform(settings.bias_magnitude), order=settings.bias_order)
    transform = tio.Compose([bias, tio.RandomNoise(mean=0.0, std=settings.sigma)])
    return transform(_scalar(image)).data[..., 0]


def super_resolution(image: Tensor, settings: ResolutionSettings | None = None) -> Tensor:
    """``[C, H, W]`` -> ``[C, H, W]`` acquired at a coarser spacing along H, W or both, resampled back."""
    settings = settings or ResolutionSettings()
    scalar = _scalar(image)
    if float(torch.rand(())) < settings.one_axis_probability:
        transform = tio.RandomAnisotropy(axes=(0, 1), downsampling=settings.factor)
        return transform(scalar).data[..., 0]
    factor = _uniform(settings.factor)
    down = tio.Resample((factor, factor, 1.0), image_interpolation="nearest")(scalar)
    up = tio.Resample((scalar.spatial_shape, scalar.affine), image_interpolation="linear")(down)
    return up.data[..., 0]


def spatial(
    image: Tensor,
    labels: Tensor,
    affine: bool = True,
    elastic: bool = True,
    flip: bool = True,
    flip_axis: int = 0,
    affine_settings: AffineSettings | None = None,
    elastic_settings: ElasticSettings | None = None,
) -> tuple[Tensor, Tensor]:
    """Spatially augment ``image [C, H, W]`` and ``labels [H, W]`` together -> the same shapes.

    Our normalised units (fraction of the half-size) become pixels; ``K`` control points corner to
    corner with locked borders become TorchIO's ``K + 2`` with ``locked_borders=2`` (same free
    interior points). ``flip_axis`` 0 flips along H (``synthesize``'s default ``flip_dim=2``). Settings
    default to those of the ``random_affine`` and ``random_elastic`` augmentations.
    """
    half_h, half_w = image.shape[-2] / 2, image.shape[-1] / 2
    transforms: list[tio.Transform] = []
    if affine:
        a = affine_settings or AffineSettings()
        th, tw = a.translation * half_h, a.translation * half_w
        shift = (-th, th, -tw, tw, 0.0, 0.0)
        transforms.append(tio.RandomAffine(a.scale, a.degrees, shift, isotropic=True, default_pad_value=0.0))
    if elastic:
        e = elastic_settings or ElasticSettings()
        displacement = (e.max_displacement * half_h, e.max_displacement * half_w, 0.0)
        transforms.append(tio.RandomElasticDeformation(e.control_points + 2, displacement, locked_borders=2))
    if flip:
        transforms.append(tio.RandomFlip(axes=(flip_axis,), flip_probability=1.0))
    subject = tio.Subject(image=_scalar(image), labels=tio.LabelMap(tensor=labels.detach().cpu()[None, ..., None]))
    out = tio.Compose(transforms)(subject)
    return out["image"].data[..., 0], out["labels"].data[0, ..., 0].to(labels.dtype)


def per_sample(task: str, image: Tensor, labels: Tensor | None, rng_seed: int) -> tuple[Tensor, Tensor]:
    """One item through TorchIO: ``(x, y)``, seeded by ``rng_seed``; the global RNG is left untouched.

    ``image [C, H, W]``; ``labels [H, W]`` (needed only for ``spatial``). For the degradation tasks
    ``x`` is the degraded image and ``y`` the clean ``image``, both ``[C, H, W]``; for ``spatial``
    ``x [C, H, W]`` and ``y [H, W]`` are the augmented image and label map.

    Example:
        >>> x, y = per_sample("motion", torch.rand(3, 32, 32), None, rng_seed=0)
        >>> x.shape
        torch.Size([3, 32, 32])
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS} (those TorchIO covers), got {task!r}")
    if image.ndim != 3:
        raise ValueError(f"image must be [C, H, W], got shape {tuple(image.shape)}")
    if task == "spatial" and (labels is None or labels.shape != image.shape[1:]):
        shape = None if labels is None else tuple(labels.shape)
        raise ValueError(f"task 'spatial' needs labels of shape [H, W] = {tuple(image.shape[1:])}, got {shape}")
    with seeded(rng_seed):
        if task == "spatial":
            return spatial(image, labels)
        degrade = {"motion": motion, "denoising": denoising, "super_resolution": super_resolution}[task]
        return degrade(image), image
