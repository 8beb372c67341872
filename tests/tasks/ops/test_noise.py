"""Gaussian and Rician noise, and the polynomial bias field (TorchIO semantics, in 2-D)."""

from __future__ import annotations

import math

import pytest
import torch

from neuroicl.tasks.ops.noise import (
    apply_bias_field,
    apply_noise,
    bias_field,
    bias_terms,
    sample_bias_coefficients,
    sample_noise_fields,
)

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA"))]


def _images(n: int = 2, size: int = 32) -> torch.Tensor:
    """``[N, 3, H, W]`` non-negative images: a square of ones on a zero background; channel 2 unused (zero)."""
    images = torch.zeros(n, 3, size, size)
    images[:, :2, size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 1.0
    return images


def _fields(shape: tuple[int, int, int, int], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    return sample_noise_fields(shape, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("device", DEVICES)
def test_shapes_dtypes_and_devices(device):
    g = torch.Generator(device=device).manual_seed(0)
    images = _images().to(device)
    fields = sample_noise_fields(tuple(images.shape), g)
    coefficients = sample_bias_coefficients(2, 3, torch.full((2,), 0.5, device=device), g)
    field = bias_field(coefficients, 3, (32, 32))
    noisy = apply_noise(
        images, torch.full((2,), 0.1, device=device), fields, torch.tensor([False, True], device=device)
    )
    assert all(f.shape == images.shape and f.dtype == torch.float32 and f.device.type == device for f in fields)
    assert coefficients.shape == (2, 10) and field.shape == (2, 1, 32, 32) and field.device.type == device
    for out in (noisy, apply_bias_field(images, field)):
        assert out.shape == images.shape and out.dtype == torch.float32 and out.device.type == device


def test_noise_fields_are_independent_standard_normals():
    first, second = _fields((8, 3, 32, 32))
    assert first.mean().abs().item() < 0.05 and first.std().item() == pytest.approx(1.0, abs=0.05)
    assert torch.corrcoef(torch.stack([first.flatten(), second.flatten()]))[0, 1].abs().item() < 0.05


@pytest.mark.parametrize("rician", [False, True])
def test_zero_sigma_is_identity(rician):
    images = _images()
    out = apply_noise(images, torch.zeros(2), _fields(tuple(images.shape)), torch.full((2,), rician))
    torch.testing.assert_close(out, images, atol=1e-6, rtol=0)


@pytest.mark.parametrize("rician", [False, True])
def test_noise_keeps_zero_channels_zero(rician):
    images = _images()
    out = apply_noise(images, torch.full((2,), 0.2), _fields(tuple(images.shape)), torch.full((2,), rician))
    assert torch.equal(out[:, 2], torch.zeros_like(out[:, 2]))
    assert (out[:, :2] != images[:, :2]).float().mean().item() > 0.99


def test_gaussian_noise_has_the_requested_per_item_sigma():
    images = _images()
    sigma = torch.tensor([0.05, 0.2])
    out = apply_noise(images, sigma, _fields(tuple(images.shape)), torch.zeros(2, dtype=torch.bool))
    residual_std = (out - images)[:, :2].flatten(1).std(1)
    torch.testing.assert_close(residual_std, sigma, rtol=0.05, atol=0)


def test_rician_noise_biases_the_zero_background_upwards():
    images = _images(4)
    sigma = 0.1
    fields = _fields(tuple(images.shape))
    background = images[:, :2] == 0
    rician = apply_noise(images, torch.full((4,), sigma), fields, torch.ones(4, dtype=torch.bool))[:, :2]
    gaussian = apply_noise(images, torch.full((4,), sigma), fields, torch.zeros(4, dtype=torch.bool))[:, :2]
    # Rayleigh mean sigma * sqrt(pi / 2) ~ 0.125; the Gaussian background mean is 0 within 0.003 (one standard error)
    assert rician[background].mean().item() == pytest.approx(sigma * math.sqrt(math.pi / 2), rel=0.05)
    assert abs(gaussian[background].mean().item()) < 0.01


@pytest.mark.parametrize(("order", "count"), [(0, 1), (1, 3), (2, 6), (3, 10)])
def test_bias_terms_are_the_monomials_up_to_order(order, count):
    terms = bias_terms(order)
    assert len(terms) == len(set(terms)) == count
    assert all(i >= 0 and j >= 0 and i + j <= order for i, j in terms)


def test_bias_coefficients_lie_in_plus_minus_magnitude():
    magnitude = torch.tensor([0.1, 0.5])
    coefficients = sample_bias_coefficients(2, 20, magnitude, torch.Generator().manual_seed(0))
    bound = coefficients.abs().max(1).values
    assert torch.all(bound <= magnitude) and torch.all(bound > 0.9 * magnitude)
    assert torch.all(coefficients.min(1).values < 0) and torch.all(coefficients.max(1).values > 0)


def test_zero_magnitude_gives_a_field_of_ones():
    coefficients = sample_bias_coefficients(2, 3, torch.zeros(2), torch.Generator().manual_seed(0))
    field = bias_field(coefficients, 3, (32, 32))
    assert torch.equal(field, torch.ones(2, 1, 32, 32))
    assert torch.equal(apply_bias_field(_images(), field), _images())


def test_bias_field_is_the_exponential_of_the_polynomial():
    coefficients = torch.zeros(1, len(bias_terms(1)))
    coefficients[0, bias_terms(1).index((1, 0))] = 0.5  # 0.5 x, x along H
    field = bias_field(coefficients, 1, (5, 4))[0, 0]
    expected = torch.exp(0.5 * torch.linspace(-1, 1, 5))[:, None].expand(5, 4)
    torch.testing.assert_close(field, expected)


def test_bias_field_keeps_zero_channels_zero():
    coefficients = sample_bias_coefficients(2, 3, torch.full((2,), 0.5), torch.Generator().manual_seed(0))
    out = apply_bias_field(_images(), bias_field(coefficients, 3, (32, 32)))
    assert torch.equal(out[:, 2], torch.zeros_like(out[:, 2]))
    assert not torch.allclose(out[:, :2], _images()[:, :2])


def test_samplers_are_deterministic_and_leave_the_global_rng_alone():
    state = torch.get_rng_state()
    fields = [_fields((2, 3, 8, 8), seed=3) for _ in range(2)]
    coefficients = [sample_bias_coefficients(2, 3, torch.ones(2), torch.Generator().manual_seed(3)) for _ in range(2)]
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(fields[0][0], fields[1][0]) and torch.equal(fields[0][1], fields[1][1])
    assert torch.equal(coefficients[0], coefficients[1])


def test_bad_noise_parameter_raises():
    images = _images()
    fields = _fields(tuple(images.shape))
    with pytest.raises(ValueError, match="sigma"):
        apply_noise(images, torch.tensor([0.1, -0.1]), fields, torch.zeros(2, dtype=torch.bool))
    with pytest.raises(ValueError, match="rician"):
        apply_noise(images, torch.full((2,), 0.1), fields, torch.zeros(2))
    with pytest.raises(ValueError, match="fields"):
        apply_noise(images, torch.full((2,), 0.1), _fields((2, 3, 16, 16)), torch.zeros(2, dtype=torch.bool))
    with pytest.raises(ValueError, match="shape"):
        sample_noise_fields((2, 32, 32), torch.Generator())


def test_bad_bias_parameter_raises():
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="order"):
        bias_terms(-1)
    with pytest.raises(ValueError, match="magnitude"):
        sample_bias_coefficients(2, 3, torch.tensor([0.5, -0.5]), g)
    with pytest.raises(ValueError, match="coefficients"):
        bias_field(torch.zeros(2, 6), 3, (32, 32))
    with pytest.raises(ValueError, match="field"):
        apply_bias_field(_images(), torch.ones(2, 1, 16, 16))
