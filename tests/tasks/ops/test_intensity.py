"""Intensity task augmentations: Sobel filter, intensity mapping, synthetic modality."""

import pytest
import torch

from neuroicl.tasks.ops.intensity import (
    apply_intensity_mapping,
    apply_synthetic_modality,
    sample_intensity_mapping,
    sample_synthetic_modality,
    sobel_filter,
    synthetic_image,
)


def _images():
    g = torch.Generator().manual_seed(0)
    images = torch.rand(4, 3, 16, 16, generator=g)
    images[:, 2] = 0  # an unused channel
    images[:, :, :2] = 0  # background
    return images


def test_sobel_is_zero_on_constants_and_keeps_empty_channels_empty():
    images = torch.zeros(2, 3, 16, 16)
    images[:, 0] = 0.5
    out = sobel_filter(images)
    assert out.abs().max() == 0
    step = torch.zeros(1, 3, 16, 16)
    step[:, 0, :, 8:] = 1
    edges = sobel_filter(step)[0, 0]
    assert edges[:, 7:9].min() > 0 and edges[:, :6].max() == 0 and edges[:, 10:].max() == 0
    assert sobel_filter(step)[0, 1:].abs().max() == 0


def test_intensity_mapping_hits_the_bin_values_at_bin_centres():
    g = torch.Generator().manual_seed(1)
    values, bins = sample_intensity_mapping(4, (5, 5), g)
    assert (bins == 5).all() and values.min() == 0 and values.max() == 1
    centres = (torch.arange(5) + 0.5) / 5
    images = centres.view(1, 1, 1, 5).expand(4, 3, 1, 5).contiguous()
    assert torch.allclose(apply_intensity_mapping(images, values, bins)[:, :, 0], values, atol=1e-5)


def test_intensity_mapping_keeps_zero_and_stays_in_range():
    images = _images()
    values, bins = sample_intensity_mapping(4, (4, 16), torch.Generator().manual_seed(2))
    out = apply_intensity_mapping(images, values, bins)
    assert out[images == 0].abs().max() == 0 and out.min() >= 0 and out.max() <= 1
    assert not torch.allclose(out, images)


def test_intensity_mapping_with_varied_bin_counts_is_piecewise_linear():
    values, bins = sample_intensity_mapping(8, (2, 9), torch.Generator().manual_seed(3))
    ramp = torch.linspace(0.01, 1, 400).view(1, 1, 1, 400).expand(8, 3, 1, 400).contiguous()
    out = apply_intensity_mapping(ramp, values, bins)[:, :, 0]
    second = out.diff(dim=-1).diff(dim=-1).abs()
    assert (second > 1e-4).sum(-1).max() <= 2 * 9  # kinks only at the bin centres


def test_bad_bins_and_std_are_errors_naming_them():
    with pytest.raises(ValueError, match="intensity_mapping bins"):
        sample_intensity_mapping(1, (1, 4), torch.Generator())
    with pytest.raises(ValueError, match="synthetic_modality std"):
        sample_synthetic_modality(1, 4, (0.2, 0.1), torch.Generator())


def test_synthetic_image_draws_each_label_from_its_distribution():
    labels = torch.tensor([[0, 1], [2, 2]]).expand(2, 2, 2)
    brain = labels > 0
    mean = torch.tensor([[0.0, 0.3, 0.7], [0.0, 0.5, 0.1]])
    out = synthetic_image(labels, brain, mean, torch.zeros(2, 3), torch.randn(2, 2, 2))
    assert torch.equal(out[0], torch.tensor([[0.0, 0.3], [0.7, 0.7]]))
    assert torch.equal(out[1], torch.tensor([[0.0, 0.5], [0.1, 0.1]]))


def test_synthetic_modality_replaces_one_channel_and_keeps_the_skull_when_asked():
    images = torch.full((2, 3, 2, 2), 0.9)
    brain = torch.tensor([[True, False], [True, True]]).expand(2, 2, 2)
    synthetic = torch.where(brain, torch.tensor(0.2), torch.tensor(0.0))
    out = apply_synthetic_modality(images, synthetic, brain, torch.tensor([1, 0]), torch.tensor([True, False]))
    assert torch.equal(out[0, [0, 2]], images[0, [0, 2]])
    assert torch.equal(out[0, 1], torch.tensor([[0.2, 0.9], [0.2, 0.2]]))  # skull pixel kept
    assert torch.equal(out[1, 0], torch.tensor([[0.2, 0.0], [0.2, 0.2]]))  # no head: zero outside the brain
