"""Undersampling masks (fastMRI semantics), k-space undersampling and rigid motion artefacts."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch

from neuroicl.tasks.ops.kspace import (
    MotionParams,
    apply_motion,
    apply_undersampling,
    sample_motion,
    sample_undersampling_mask,
)

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA"))]


def _images(n: int = 2, h: int = 32, w: int = 32, seed: int = 0) -> torch.Tensor:
    """``[N, 3, H, W]`` non-negative images: a bright square on a zero background; channel 2 unused (zero)."""
    g = torch.Generator().manual_seed(seed)
    rows, cols = slice(h // 4, 3 * h // 4), slice(w // 4, 3 * w // 4)
    images = torch.zeros(n, 3, h, w)
    images[:, :2, rows, cols] = 0.5 + torch.rand(n, 2, rows.stop - rows.start, cols.stop - cols.start, generator=g)
    return images


def _mask(
    n: int, width: int, acceleration: float, center_fraction: float, equispaced: bool, seed: int = 0
) -> torch.Tensor:
    return sample_undersampling_mask(
        n,
        width,
        torch.full((n,), acceleration),
        torch.full((n,), center_fraction),
        torch.full((n,), equispaced),
        torch.Generator().manual_seed(seed),
    )


def _motion(n: int, degrees: float, translation: float, k: int = 2, seed: int = 0) -> MotionParams:
    g = torch.Generator().manual_seed(seed)
    return sample_motion(n, torch.full((n,), degrees), torch.full((n,), translation), k, g)


@pytest.mark.parametrize("device", DEVICES)
def test_shapes_dtypes_and_devices(device):
    g = torch.Generator(device=device).manual_seed(0)
    n = 3
    mask = sample_undersampling_mask(n, 32, torch.full((n,), 4.0), torch.full((n,), 0.1), torch.rand(n) > 0.5, g)
    params = sample_motion(n, torch.full((n,), 5.0), torch.full((n,), 2.0), 4, g)
    images = _images(n).to(device)
    assert mask.shape == (n, 32) and mask.dtype == torch.bool and mask.device.type == device
    assert params.angles.shape == (n, 4) and params.shifts.shape == (n, 4, 2) and params.times.shape == (n, 4)
    for out in (apply_undersampling(images, mask), apply_motion(images, params)):
        assert out.shape == images.shape and out.dtype == torch.float32 and out.device.type == device


@pytest.mark.parametrize(("width", "first"), [(32, 14), (33, 15)])
@pytest.mark.parametrize("equispaced", [False, True])
def test_mask_keeps_the_centre_columns(width, first, equispaced):
    mask = _mask(50, width, 8.0, 0.125, equispaced)  # round(W / 8) = 4 central columns, as fastMRI places them
    assert mask[:, first : first + 4].all()


@pytest.mark.parametrize("acceleration", [2.0, 4.0, 6.5])
def test_random_mask_keeps_one_over_acceleration_of_the_columns(acceleration):
    mask = _mask(2000, 32, acceleration, 0.08, equispaced=False)
    # standard error < 0.002 over 64,000 columns; ignoring the centre block in the probability gives > 0.02 more
    assert mask.float().mean().item() == pytest.approx(1 / acceleration, abs=0.008)


@pytest.mark.parametrize("acceleration", [3.0, 4.0])
def test_equispaced_lines_are_acceleration_apart_with_a_random_offset(acceleration):
    mask = _mask(200, 32, acceleration, 0.0, equispaced=True)
    steps = torch.cat([torch.diff(torch.nonzero(row).squeeze(1)) for row in mask])
    offsets = mask.float().argmax(1)
    assert torch.all(steps == acceleration)
    assert set(offsets.tolist()) == set(range(int(acceleration)))


def test_fractional_equispaced_lines_alternate_floor_and_ceil_spacing():
    mask = _mask(5000, 32, 2.5, 0.0, equispaced=True)
    steps = torch.cat([torch.diff(torch.nonzero(row).squeeze(1)) for row in mask[:20]])
    assert set(steps.tolist()) == {2, 3}
    assert mask.float().mean(0).sub(0.4).abs().max().item() < 0.05  # every column kept with probability 1 / 2.5


@pytest.mark.parametrize(("h", "w"), [(32, 32), (31, 33)])
def test_full_mask_is_identity(h, w):
    images = _images(2, h, w)
    out = apply_undersampling(images, torch.ones(2, w, dtype=torch.bool))
    torch.testing.assert_close(out, images, atol=1e-5, rtol=0)


@pytest.mark.parametrize("w", [32, 33])
def test_dc_column_alone_gives_the_row_means(w):
    images = _images(2, 32, w)
    mask = torch.zeros(2, w, dtype=torch.bool)
    mask[:, w // 2] = True  # the centred FFT puts zero frequency at index W // 2
    out = apply_undersampling(images, mask)
    torch.testing.assert_close(out, images.mean(-1, keepdim=True).expand_as(images), atol=1e-5, rtol=0)


def test_undersampling_keeps_zero_channels_zero():
    images = _images()
    out = apply_undersampling(images, _mask(2, 32, 4.0, 0.08, equispaced=False))
    assert torch.equal(out[:, 2], torch.zeros_like(out[:, 2]))
    assert not torch.allclose(out[:, :2], images[:, :2], atol=1e-3)


def test_samplers_are_deterministic_and_leave_the_global_rng_alone():
    state = torch.get_rng_state()
    masks = [_mask(4, 32, 4.0, 0.08, equispaced=eq, seed=7) for eq in (False, True, False, True)]
    motions = [_motion(4, 10.0, 3.0, seed=7) for _ in range(2)]
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(masks[0], masks[2]) and torch.equal(masks[1], masks[3])
    assert all(torch.equal(getattr(motions[0], f), getattr(motions[1], f)) for f in ("angles", "shifts", "times"))


def test_motion_parameters_lie_in_their_ranges():
    params = _motion(500, 10.0, 3.0, k=3)
    assert params.angles.abs().max().item() <= math.radians(10.0)
    assert params.angles.abs().max().item() > math.radians(9.0)
    assert params.shifts.abs().max().item() <= 3.0
    assert torch.all(params.times > 0) and torch.all(params.times < 1)
    assert torch.all(torch.diff(params.times, dim=1) > 0)


def test_zero_motion_is_identity():
    images = _images()
    out = apply_motion(images, _motion(2, 0.0, 0.0, k=3))
    torch.testing.assert_close(out, images, atol=1e-5, rtol=0)


def test_motion_changes_the_image_and_keeps_zero_channels_zero():
    images = _images()
    out = apply_motion(images, _motion(2, 10.0, 3.0))
    assert (out[:, :2] - images[:, :2]).abs().mean().item() > 0.02
    assert torch.equal(out[:, 2], torch.zeros_like(out[:, 2]))


def test_unmoved_pose_fills_the_kspace_centre():
    images = _images(1)
    shift = torch.tensor([[[0.0, 6.0]]])
    params = MotionParams(angles=torch.zeros(1, 1), shifts=shift, times=torch.tensor([[0.3]]))
    out = apply_motion(images, params)  # the moved pose owns columns [9, 32), which hold the centre
    moved = torch.roll(images, 6, dims=-1)
    assert (out - images).abs().mean() < 0.5 * (out - moved).abs().mean()


@pytest.mark.parametrize("size", [32, 33])
def test_motion_composes_kspace_columns_of_the_moved_images(size):
    images = _images(1, size, size)
    shifts = torch.tensor([[[2.0, 3.0]]])  # (H, W) pixels
    params = MotionParams(angles=torch.tensor([[math.pi / 2]]), shifts=shifts, times=torch.tensor([[0.3]]))
    # a quarter turn about the centre from +W towards +H, then the shift (the content stays clear of the border)
    moved = torch.roll(torch.rot90(images, 1, dims=(-1, -2)), (2, 3), dims=(-2, -1))

    def centred(transform: Callable[..., torch.Tensor], x: torch.Tensor) -> torch.Tensor:  # fastMRI fft2c / ifft2c
        return torch.fft.fftshift(transform(torch.fft.ifftshift(x, dim=(-2, -1)), norm="ortho"), dim=(-2, -1))

    first = int(0.3 * size)  # columns [0, first) come from the moved pose, the rest (with the centre) from pose 0
    kspace = torch.cat([centred(torch.fft.fft2, moved)[..., :first], centred(torch.fft.fft2, images)[..., first:]], -1)
    expected = centred(torch.fft.ifft2, kspace)
    torch.testing.assert_close(apply_motion(images, params), expected.abs(), atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"acceleration": torch.tensor([0.5, 4.0])}, "acceleration"),
        ({"acceleration": torch.tensor([4.0])}, "acceleration"),
        ({"center_fraction": torch.tensor([0.1, 1.5])}, "center_fraction"),
        ({"equispaced": torch.tensor([0, 1])}, "equispaced"),
        ({"width": 0}, "width"),
    ],
)
def test_bad_mask_parameter_raises(kwargs, match):
    args = {
        "n": 2,
        "width": 32,
        "acceleration": torch.tensor([4.0, 4.0]),
        "center_fraction": torch.tensor([0.1, 0.1]),
        "equispaced": torch.tensor([False, True]),
        "generator": torch.Generator().manual_seed(0),
    }
    with pytest.raises(ValueError, match=match):
        sample_undersampling_mask(**(args | kwargs))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"degrees": torch.tensor([-1.0, 1.0])}, "degrees"),
        ({"translation": torch.tensor([1.0, float("nan")])}, "translation"),
        ({"num_transforms": 0}, "num_transforms"),
    ],
)
def test_bad_motion_parameter_raises(kwargs, match):
    args = {
        "n": 2,
        "degrees": torch.tensor([5.0, 5.0]),
        "translation": torch.tensor([1.0, 1.0]),
        "num_transforms": 2,
        "generator": torch.Generator().manual_seed(0),
    }
    with pytest.raises(ValueError, match=match):
        sample_motion(**(args | kwargs))


def test_mismatched_mask_or_motion_shapes_raise():
    images = _images()
    with pytest.raises(ValueError, match="mask"):
        apply_undersampling(images, torch.ones(2, 31, dtype=torch.bool))
    with pytest.raises(ValueError, match="MotionParams"):
        MotionParams(angles=torch.zeros(2, 3), shifts=torch.zeros(2, 3), times=torch.zeros(2, 3))
    with pytest.raises(ValueError, match="params"):
        apply_motion(images, _motion(3, 5.0, 1.0))
