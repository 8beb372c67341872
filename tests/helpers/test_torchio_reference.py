"""The per-sample TorchIO reference path, and that our batched ops degrade images by comparable amounts."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from neuroicl.tasks.augment import AffineSettings, ElasticSettings
from neuroicl.tasks.catalog import DenoisingSettings, MotionSettings, ResolutionSettings
from neuroicl.tasks.ops import kspace, noise, resample
from tests.helpers import torchio_reference as reference

SIZE = 32
SEEDS = range(8)


def _blobs(seed: int, channels: int = 3) -> torch.Tensor:
    """``[C, H, W]`` smooth random intensities in [0, 1] inside a disc ("head"), zero outside."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(channels, 1, SIZE // 4, SIZE // 4, generator=g)
    smooth = F.interpolate(coarse, size=(SIZE, SIZE), mode="bicubic", align_corners=False)[:, 0].clamp(0, 1)
    yy, xx = torch.meshgrid(torch.arange(SIZE), torch.arange(SIZE), indexing="ij")
    centre = (SIZE - 1) / 2
    head = ((yy - centre) ** 2 + (xx - centre) ** 2 < (0.4 * SIZE) ** 2).float()
    return smooth * head


def _labels(image: torch.Tensor) -> torch.Tensor:
    """``[H, W]`` long label map of the image's first channel: 0 background, 1 dim, 2 bright."""
    return (image[0] > 0.05).long() + (image[0] > 0.5).long()


def _relative(x: torch.Tensor, y: torch.Tensor) -> float:
    return float((x - y).norm() / y.norm())


@pytest.mark.parametrize("task", reference.TASKS)
def test_shapes_and_dtypes(task):
    image = _blobs(0)
    labels = _labels(image)
    x, y = reference.per_sample(task, image, labels, rng_seed=0)
    assert x.shape == image.shape and x.dtype == torch.float32
    if task == "spatial":
        assert y.shape == labels.shape and y.dtype == labels.dtype
    else:
        assert torch.equal(y, image)


@pytest.mark.parametrize("task", reference.TASKS)
def test_same_seed_same_result_other_seed_other_result(task):
    image = _blobs(1)
    labels = _labels(image)
    first = reference.per_sample(task, image, labels, rng_seed=3)
    again = reference.per_sample(task, image, labels, rng_seed=3)
    other = reference.per_sample(task, image, labels, rng_seed=4)
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.equal(first[0], other[0])


@pytest.mark.parametrize("task", reference.TASKS)
def test_global_rng_untouched(task):
    image = _blobs(2)
    state = torch.get_rng_state()
    expected = torch.rand(4)
    torch.set_rng_state(state)
    reference.per_sample(task, image, _labels(image), rng_seed=5)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(torch.rand(4), expected)


def test_motion_changes_the_image():
    errors = [_relative(reference.per_sample("motion", _blobs(s), None, s)[0], _blobs(s)) for s in SEEDS]
    assert min(errors) > 0.02


def test_zero_strength_is_identity():
    image = _blobs(3)
    labels = _labels(image)
    with reference.seeded(0):
        still = reference.motion(image, MotionSettings(degrees=(0.0, 0.0), translation_px=(0.0, 0.0)))
        clean = reference.denoising(image, DenoisingSettings(sigma=(0.0, 0.0), bias_magnitude=(0.0, 0.0)))
        sharp = [reference.super_resolution(image, ResolutionSettings((1.0, 1.0), p)) for p in (0.0, 1.0)]
        moved, moved_labels = reference.spatial(
            image,
            labels,
            flip=False,
            affine_settings=AffineSettings(0.0, 0.0, 0.0),
            elastic_settings=ElasticSettings(5, 0.0),
        )
    torch.testing.assert_close(still, image, atol=1e-5, rtol=0)
    assert torch.equal(clean, image)
    for out in sharp:
        torch.testing.assert_close(out, image, atol=1e-5, rtol=0)
    torch.testing.assert_close(moved, image, atol=1e-5, rtol=0)
    assert torch.equal(moved_labels, labels)


def test_flip_is_along_h():
    image = _blobs(4)
    labels = _labels(image)
    x, y = reference.spatial(image, labels, affine=False, elastic=False, flip=True)
    assert torch.equal(x, image.flip(1)) and torch.equal(y, labels.flip(0))


def test_spatial_moves_image_and_labels_together():
    for seed in SEEDS:
        image = _blobs(seed)
        x, y = reference.per_sample("spatial", image, _labels(image), seed)
        assert set(y.unique().tolist()) <= {0, 1, 2}
        bright, label = x[0] > 0.5, y == 2
        dice = 2 * (bright & label).sum() / (bright.sum() + label.sum())
        assert dice > 0.8, f"seed {seed}: image and labels moved apart (Dice {float(dice):.2f})"


def _ratio(ours: torch.Tensor, theirs: list[torch.Tensor], images: torch.Tensor) -> float:
    """Mean relative degradation ‖x − y‖ / ‖y‖ of our batch over that of TorchIO's items."""
    mine = sum(_relative(ours[i], images[i]) for i in range(len(images)))
    other = sum(_relative(theirs[i], images[i]) for i in range(len(images)))
    return mine / other


def test_motion_degrades_as_much_as_torchio():
    images = torch.stack([_blobs(s) for s in SEEDS])
    n, settings = len(images), MotionSettings(degrees=(8.0, 8.0), translation_px=(4.0, 4.0))
    params = kspace.sample_motion(n, torch.full((n,), 8.0), torch.full((n,), 4.0), 2, torch.Generator().manual_seed(0))
    ours = kspace.apply_motion(images, params)
    with reference.seeded(0):
        theirs = [reference.motion(image, settings) for image in images]
    assert 1 / 3 < _ratio(ours, theirs, images) < 3


def test_noise_and_bias_degrade_as_much_as_torchio():
    images = torch.stack([_blobs(s) for s in SEEDS])
    n, g = len(images), torch.Generator().manual_seed(0)
    fields = noise.sample_noise_fields(tuple(images.shape), g)
    coefficients = noise.sample_bias_coefficients(n, 3, torch.full((n,), 0.3), g)
    biased = noise.apply_bias_field(images, noise.bias_field(coefficients, 3, (SIZE, SIZE)))
    ours = noise.apply_noise(biased, torch.full((n,), 0.05), fields, torch.zeros(n, dtype=torch.bool))
    with reference.seeded(0):
        settings = DenoisingSettings(sigma=(0.05, 0.05), bias_magnitude=(0.3, 0.3))
        theirs = [reference.denoising(image, settings) for image in images]
    assert 1 / 3 < _ratio(ours, theirs, images) < 3


def test_resolution_degrades_as_much_as_torchio():
    images = torch.stack([_blobs(s) for s in SEEDS])
    factor = torch.full((len(images),), 3.0)
    ours = resample.degrade_resolution(images, factor, factor)
    with reference.seeded(0):
        theirs = [reference.super_resolution(image, ResolutionSettings((3.0, 3.0), 0.0)) for image in images]
    assert 1 / 3 < _ratio(ours, theirs, images) < 3


def test_unknown_task_is_an_error():
    with pytest.raises(ValueError, match="task must be one of"):
        reference.per_sample("segmentation", _blobs(0), None, 0)


def test_image_must_be_chw():
    with pytest.raises(ValueError, match=r"\[C, H, W\]"):
        reference.per_sample("motion", _blobs(0)[None], None, 0)


def test_spatial_needs_labels():
    with pytest.raises(ValueError, match="needs labels"):
        reference.per_sample("spatial", _blobs(0), None, 0)
