"""Perlin noise with per-item lattice resolution, and masks of exact coverage thresholded from it."""

from __future__ import annotations

import pytest
import torch

from neuroicl.tasks.ops.perlin import perlin_mask, sample_perlin


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def neighbour_correlation(noise: torch.Tensor) -> torch.Tensor:
    """Per item ``[N]``: correlation of each pixel with its right-hand neighbour."""
    a, b = noise[:, :, :-1].flatten(1), noise[:, :, 1:].flatten(1)
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))


def test_shape_and_dtype():
    noise = sample_perlin(3, (32, 24), torch.tensor([1, 2, 5]), 2, gen())
    assert noise.shape == (3, 32, 24)
    assert noise.dtype == torch.float32
    assert torch.isfinite(noise).all()


def test_noise_is_spatially_smooth():
    noise = sample_perlin(4, (64, 64), torch.tensor([2, 3, 4, 4]), 2, gen())
    assert neighbour_correlation(noise).min() > 0.9


def test_more_cells_give_rougher_noise():
    noise = sample_perlin(3, (64, 64), torch.tensor([1, 4, 16]), 1, gen())
    assert torch.all(neighbour_correlation(noise).diff() < 0)


def test_noise_vanishes_on_lattice_points():
    """Gradient (not value) noise: zero at lattice points. With 4 cells on 2 × 2 pixels, the pixel
    centres sit at lattice coordinates 1 and 3."""
    on_lattice = sample_perlin(2, (2, 2), torch.tensor([4, 4]), 1, gen())
    off_lattice = sample_perlin(2, (2, 2), torch.tensor([3, 3]), 1, gen())
    assert torch.equal(on_lattice, torch.zeros(2, 2, 2))
    assert off_lattice.abs().min() > 0


def test_sampler_is_seeded_and_leaves_global_rng_alone():
    cells = torch.tensor([2, 4])
    state = torch.get_rng_state()
    first, second = sample_perlin(2, (16, 16), cells, 3, gen(5)), sample_perlin(2, (16, 16), cells, 3, gen(5))
    other = sample_perlin(2, (16, 16), cells, 3, gen(6))
    assert torch.equal(first, second)
    assert not torch.equal(first, other)
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("coverage", [0.0, 0.05, 0.3, 0.5, 0.77, 1.0])
def test_mask_covers_the_requested_fraction(coverage):
    noise = sample_perlin(3, (20, 30), torch.tensor([1, 3, 6]), 3, gen())
    mask = perlin_mask(noise, torch.full((3,), coverage))
    assert mask.dtype == torch.bool and mask.shape == (3, 20, 30)
    assert torch.all((mask.float().mean((1, 2)) - coverage).abs() <= 0.5 / 600)


def test_mask_coverage_is_per_item():
    noise = sample_perlin(3, (16, 16), torch.tensor([2, 2, 2]), 2, gen())
    mask = perlin_mask(noise, torch.tensor([0.1, 0.5, 0.9]))
    assert mask.sum((1, 2)).tolist() == [26, 128, 230]  # round(coverage · 256)


def test_mask_keeps_the_highest_noise():
    noise = sample_perlin(1, (16, 16), torch.tensor([3]), 2, gen())
    mask = perlin_mask(noise, torch.tensor([0.25]))
    assert noise[mask].min() >= noise[~mask].max()


def test_mask_count_is_exact_despite_ties():
    mask = perlin_mask(torch.zeros(2, 10, 10), torch.tensor([0.33, 0.5]))
    assert mask.sum((1, 2)).tolist() == [33, 50]


BAD_CALLS = {
    "octaves": lambda: sample_perlin(2, (8, 8), torch.tensor([1, 2]), 0, gen()),
    "size": lambda: sample_perlin(2, (0, 8), torch.tensor([1, 2]), 1, gen()),
    "cells must be >= 1": lambda: sample_perlin(2, (8, 8), torch.tensor([0, 2]), 1, gen()),
    "max_cells \\(3\\)": lambda: sample_perlin(2, (8, 8), torch.tensor([1, 4]), 1, gen(), max_cells=3),
    "cells must be an integer": lambda: sample_perlin(2, (8, 8), torch.tensor([1.0, 2.0]), 1, gen()),
    "^n must": lambda: sample_perlin(-1, (8, 8), torch.tensor([1]), 1, gen()),
    "coverage must be in": lambda: perlin_mask(torch.zeros(2, 8, 8), torch.tensor([0.5, 1.5])),
    "coverage must be a float": lambda: perlin_mask(torch.zeros(2, 8, 8), torch.tensor([0.5])),
    "noise": lambda: perlin_mask(torch.zeros(2, 1, 8, 8), torch.tensor([0.5, 0.5])),
}


@pytest.mark.parametrize("match", list(BAD_CALLS))
def test_rejects_bad_parameters(match):
    with pytest.raises(ValueError, match=match):
        BAD_CALLS[match]()
