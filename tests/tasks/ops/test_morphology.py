"""Binary dilation, erosion and contours of batched float masks."""

from __future__ import annotations

import pytest
import torch

from neuroicl.tasks.ops.morphology import contour, dilate, erode


def square(size: int = 32, start: int = 8, stop: int = 24) -> torch.Tensor:
    mask = torch.zeros(1, 1, size, size)
    mask[..., start:stop, start:stop] = 1.0
    return mask


def blobs() -> torch.Tensor:
    return (torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0)) > 0.5).float()


def test_dilation_grows_a_pixel_to_a_square():
    mask = torch.zeros(1, 1, 9, 9)
    mask[0, 0, 4, 4] = 1.0
    expected = torch.zeros(1, 1, 9, 9)
    expected[0, 0, 3:6, 3:6] = 1.0
    assert torch.equal(dilate(mask, 1), expected)


@pytest.mark.parametrize("operation", [dilate, erode])
def test_radius_zero_is_identity(operation):
    mask = blobs()
    assert torch.equal(operation(mask, 0), mask)


@pytest.mark.parametrize("operation", [dilate, erode])
def test_empty_mask_stays_empty(operation):
    empty = torch.zeros(2, 1, 8, 8)
    assert torch.equal(operation(empty, 2), empty)


def test_dilation_keeps_a_full_mask_full():
    full = torch.ones(2, 1, 8, 8)
    assert torch.equal(dilate(full, 2), full)


def test_erosion_of_a_full_mask_loses_the_border_frame():
    expected = torch.zeros(2, 1, 8, 8)
    expected[..., 2:6, 2:6] = 1.0
    assert torch.equal(erode(torch.ones(2, 1, 8, 8), 2), expected)


def test_erosion_shrinks_a_square():
    assert torch.equal(erode(square(), 3), square(start=11, stop=21))


def test_erosion_undoes_dilation_of_a_square():
    assert torch.equal(erode(dilate(square(), 2), 2), square())


def test_operations_keep_binary_values_and_shape():
    mask = blobs()
    for out in (dilate(mask, 1), erode(mask, 1), contour(mask)):
        assert out.shape == mask.shape
        assert set(out.unique().tolist()) <= {0.0, 1.0}


def test_contour_of_a_square_is_a_ring_three_pixels_wide():
    ring = contour(square())
    row = ring[0, 0, 16]  # crosses the left (x = 8) and right (x = 23) edges
    assert row.nonzero().flatten().tolist() == [7, 8, 9, 22, 23, 24]
    assert ring[0, 0, 12:20, 12:20].sum() == 0  # hollow inside


def test_contour_width_one_is_the_inner_boundary():
    ring = contour(square(), width=1)
    assert torch.equal(ring, square() - square(start=9, stop=23))


def test_contour_of_a_mask_touching_the_border_includes_the_border():
    ring = contour(torch.ones(1, 1, 8, 8), width=1)
    assert ring.sum() == 28  # the outer frame of an 8 × 8 image


@pytest.mark.parametrize("width", [0, 2, -1])
def test_contour_rejects_bad_width(width):
    with pytest.raises(ValueError, match="width"):
        contour(square(), width=width)


@pytest.mark.parametrize("operation", [dilate, erode])
def test_rejects_negative_radius(operation):
    with pytest.raises(ValueError, match="radius"):
        operation(square(), -1)


def test_rejects_masks_that_are_not_float_nchw():
    with pytest.raises(ValueError, match="mask"):
        dilate(torch.ones(8, 8), 1)
    with pytest.raises(ValueError, match="mask"):
        erode(torch.ones(1, 1, 8, 8, dtype=torch.bool), 1)
