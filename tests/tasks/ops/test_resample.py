"""Resolution degradation with per-item factors along H and W."""

from __future__ import annotations

import pytest
import torch

from neuroicl.tasks.ops.resample import degrade_resolution


def noise(n: int = 1, size: int = 32) -> torch.Tensor:
    return torch.randn(n, 2, size, size, generator=torch.Generator().manual_seed(0))


def high_frequency_energy(images: torch.Tensor) -> torch.Tensor:
    """Per item ``[N]``: energy of the neighbour differences (a high-pass filter) along H and W."""
    return images.diff(dim=-1).square().sum((1, 2, 3)) + images.diff(dim=-2).square().sum((1, 2, 3))


def test_shape():
    out = degrade_resolution(noise(3, 24), torch.tensor([1.0, 2.0, 3.5]), torch.tensor([4.0, 1.0, 2.0]))
    assert out.shape == (3, 2, 24, 24)


def test_factor_one_is_identity():
    x = noise(2)
    ones = torch.ones(2)
    assert torch.allclose(degrade_resolution(x, ones, ones), x, atol=1e-6)


def test_high_frequency_energy_falls_with_factor():
    factors = torch.tensor([1.0, 1.5, 2.0, 3.0, 4.0, 6.0])
    x = noise().expand(len(factors), -1, -1, -1)
    energy = high_frequency_energy(degrade_resolution(x, factors, factors))
    assert torch.all(energy.diff() < 0)


def test_items_are_independent():
    x = noise(3)
    factor_h, factor_w = torch.tensor([1.0, 2.5, 4.0]), torch.tensor([3.0, 1.0, 2.0])
    batched = degrade_resolution(x, factor_h, factor_w)
    for i in range(3):
        alone = degrade_resolution(x[i : i + 1], factor_h[i : i + 1], factor_w[i : i + 1])
        assert torch.allclose(batched[i : i + 1], alone, atol=1e-5)


def test_only_the_degraded_axis_changes():
    columns = noise()[:, :, :1, :].expand(-1, -1, 32, -1)  # varies along W only
    out = degrade_resolution(columns, torch.tensor([4.0]), torch.tensor([1.0]))
    assert torch.allclose(out, columns, atol=1e-5)


def test_constant_image_is_preserved():
    x = torch.full((2, 1, 20, 20), 3.0)
    out = degrade_resolution(x, torch.tensor([2.0, 5.0]), torch.tensor([3.0, 1.5]))
    assert torch.allclose(out, x, atol=1e-5)


def test_linear_ramp_survives_away_from_the_border():
    """Symmetric blur and linear interpolation both reproduce a linear profile (the border is excluded)."""
    ramp = torch.arange(32.0).view(1, 1, 1, 32).expand(1, 1, 8, 32)
    out = degrade_resolution(ramp, torch.tensor([1.0]), torch.tensor([2.0]))
    assert torch.allclose(out[..., 8:24], ramp[..., 8:24], atol=1e-4)


@pytest.mark.parametrize(
    ("factor_h", "factor_w", "match"),
    [
        (torch.tensor([0.5, 1.0]), torch.ones(2), "factor_h"),
        (torch.ones(2), torch.tensor([1.0, float("nan")]), "factor_w"),
        (torch.ones(3), torch.ones(2), "factor_h"),
        (torch.ones(2), torch.ones(2, dtype=torch.long), "factor_w"),
    ],
    ids=["below-one", "nan", "wrong-shape", "integer-dtype"],
)
def test_rejects_bad_factors(factor_h, factor_w, match):
    with pytest.raises(ValueError, match=match):
        degrade_resolution(noise(2), factor_h, factor_w)


def test_rejects_bad_images():
    with pytest.raises(ValueError, match="images"):
        degrade_resolution(torch.zeros(2, 8, 8), torch.ones(2), torch.ones(2))
