"""Affine and elastic sampling grids, grid resampling and flips."""

from __future__ import annotations

import pytest
import torch

from neuroicl.tasks.ops.spatial import apply_grid, flip, sample_affine, sample_elastic, sample_flip, sampling_grid


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def images(n: int = 3, size: int = 16) -> torch.Tensor:
    return torch.rand(n, 2, size, size, generator=gen(123))


def test_shapes():
    theta = sample_affine(3, 10.0, 0.1, 0.1, gen())
    displacement = sample_elastic(3, 5, 0.05, gen())
    grid = sampling_grid(theta, displacement, (16, 12))
    assert theta.shape == (3, 2, 3)
    assert displacement.shape == (3, 2, 5, 5)
    assert grid.shape == (3, 16, 12, 2)
    assert apply_grid(torch.rand(3, 2, 8, 8), grid).shape == (3, 2, 16, 12)


def test_zero_affine_is_exact_identity_theta():
    theta = sample_affine(4, 0.0, 0.0, 0.0, gen())
    assert torch.equal(theta, torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]).expand(4, 2, 3))


def test_zero_strength_grid_is_identity():
    x = images()
    grid = sampling_grid(sample_affine(3, 0.0, 0.0, 0.0, gen()), sample_elastic(3, 5, 0.0, gen()), (16, 16))
    assert torch.allclose(apply_grid(x, grid), x, atol=1e-5)


def test_affine_stays_in_range():
    theta = sample_affine(500, 20.0, 0.2, 0.1, gen())
    linear = theta[:, :, :2]
    factor = 1.0 / linear.det().sqrt()
    angle = torch.rad2deg(torch.atan2(linear[:, 1, 0], linear[:, 0, 0]))
    shift = -torch.linalg.solve(linear, theta[:, :, 2])
    assert factor.min() >= 0.8 - 1e-5 and factor.max() <= 1.2 + 1e-5
    assert angle.abs().max() <= 20.0 + 1e-4 and angle.abs().max() > 15.0
    assert shift.abs().max() <= 0.1 + 1e-5


def test_translation_moves_content_forward():
    x = torch.zeros(1, 1, 16, 16)
    x[0, 0, 8, 8] = 1.0
    theta = torch.tensor([[[1.0, 0.0, -0.25], [0.0, 1.0, 0.0]]])  # +0.25 half-widths = +2 px along W
    moved = apply_grid(x, sampling_grid(theta, None, (16, 16)))
    assert moved[0, 0, 8, 10] == pytest.approx(1.0, abs=1e-5)


def test_elastic_borders_are_locked():
    displacement = sample_elastic(2, 6, 0.1, gen())
    border = torch.ones(6, 6, dtype=torch.bool)
    border[1:-1, 1:-1] = False
    assert torch.all(displacement[..., border] == 0)
    assert displacement[..., ~border].abs().min() > 0
    assert displacement.abs().max() <= 0.1


def test_elastic_grid_keeps_the_image_corners():
    theta = sample_affine(2, 0.0, 0.0, 0.0, gen())
    plain = sampling_grid(theta, None, (16, 16))
    deformed = sampling_grid(theta, sample_elastic(2, 5, 0.1, gen()), (16, 16))
    corners = (slice(None), [0, 0, -1, -1], [0, -1, 0, -1])
    assert torch.allclose(deformed[corners], plain[corners])
    assert not torch.allclose(deformed, plain)


def test_nearest_mode_keeps_label_values():
    labels = torch.randint(0, 4, (2, 1, 16, 16), generator=gen()).float()
    grid = sampling_grid(sample_affine(2, 30.0, 0.1, 0.1, gen()), sample_elastic(2, 5, 0.1, gen()), (16, 16))
    assert set(apply_grid(labels, grid, mode="nearest").unique().tolist()) <= {0.0, 1.0, 2.0, 3.0}


def test_flip_without_flags_is_identity():
    x = images()
    assert torch.equal(flip(x, torch.zeros(3, dtype=torch.bool), 3), x)


@pytest.mark.parametrize("dim", [2, 3])
def test_flip_twice_is_identity(dim):
    x, flags = images(), torch.tensor([True, False, True])
    assert torch.equal(flip(flip(x, flags, dim), flags, dim), x)


def test_flip_acts_on_flagged_items_only():
    x = images()
    out = flip(x, torch.tensor([True, False, True]), 3)
    assert torch.equal(out[0], x[0].flip(-1))
    assert torch.equal(out[1], x[1])
    assert torch.equal(out[2], x[2].flip(-1))


@pytest.mark.parametrize(
    "draw",
    [
        lambda g: sample_affine(4, 10.0, 0.1, 0.1, g),
        lambda g: sample_elastic(4, 5, 0.1, g),
        lambda g: sample_flip(16, 0.5, g),
    ],
    ids=["affine", "elastic", "flip"],
)
def test_samplers_are_seeded_and_leave_global_rng_alone(draw):
    state = torch.get_rng_state()
    first, second, other = draw(gen(7)), draw(gen(7)), draw(gen(8))
    assert torch.equal(first, second)
    assert not torch.equal(first, other)
    assert torch.equal(torch.get_rng_state(), state)


BAD_CALLS = {
    "degrees": lambda: sample_affine(2, -1.0, 0.1, 0.1, gen()),
    "scale": lambda: sample_affine(2, 10.0, 1.0, 0.1, gen()),
    "translation": lambda: sample_affine(2, 10.0, 0.1, -0.1, gen()),
    "^n must": lambda: sample_affine(-1, 10.0, 0.1, 0.1, gen()),
    "control_points": lambda: sample_elastic(2, 2, 0.1, gen()),
    "max_displacement": lambda: sample_elastic(2, 5, -0.1, gen()),
    "probability": lambda: sample_flip(2, 1.5, gen()),
    "theta": lambda: sampling_grid(torch.zeros(2, 3, 3), None, (8, 8)),
    "displacement": lambda: sampling_grid(torch.zeros(2, 2, 3), torch.zeros(1, 2, 4, 4), (8, 8)),
    "size": lambda: sampling_grid(torch.zeros(2, 2, 3), None, (0, 8)),
    "mode": lambda: apply_grid(torch.zeros(2, 1, 8, 8), torch.zeros(2, 8, 8, 2), mode="cubic"),
    "grid": lambda: apply_grid(torch.zeros(2, 1, 8, 8), torch.zeros(3, 8, 8, 2)),
    "dim": lambda: flip(torch.zeros(2, 1, 8, 8), torch.zeros(2, dtype=torch.bool), 1),
    "flags": lambda: flip(torch.zeros(2, 1, 8, 8), torch.zeros(2), 3),
}


@pytest.mark.parametrize("match", list(BAD_CALLS))
def test_rejects_bad_parameters(match):
    with pytest.raises(ValueError, match=match):
        BAD_CALLS[match]()
