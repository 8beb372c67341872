"""ISTN's networks: identity at initialisation, bounded and smooth transforms, shapes, soft labels, determinism."""

from __future__ import annotations

import math

import pytest
import torch

from neuroicl.models.istn import (
    AFFINE_BOUNDS,
    ISTN,
    ITN,
    MODES,
    AffineSTN,
    BSplineSTN,
    ISTNConfig,
    affine_matrix,
    apply_dropout,
    bspline_basis,
    bspline_field,
    control_points,
    cubic_bspline,
    from_istn_space,
    sample_keep_mask,
    to_istn_space,
    warp_with_field,
)
from neuroicl.models.istn_critics import (
    Discriminator,
    DiscriminatorConfig,
    TaskCNN,
    TaskCNNConfig,
    sample_soft_labels,
    soft_label_bce,
)

B, C, H, W = 2, 3, 16, 16


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _images(seed: int = 1, size: int = H) -> torch.Tensor:
    """Images ``[B, C, H, W]`` in ISTN space."""
    return to_istn_space(torch.rand(B, C, size, size, generator=_gen(seed)))


def _tiny(mode: str) -> ISTNConfig:
    return ISTNConfig(mode=mode, image_size=H, features=2, spacing=4)


@pytest.mark.parametrize("mode", MODES)
def test_istn_shapes(mode):
    out, displacement = ISTN(_tiny(mode), generator=_gen())(_images(), _gen(1))
    assert out.shape == (B, C, H, W) and displacement.shape == (B, 2, H, W)


@pytest.mark.parametrize("mode", MODES)
def test_istn_is_the_identity_at_initialisation(mode):
    net = ISTN(_tiny(mode), generator=_gen())  # training mode: dropout active, BatchNorm on batch statistics
    u = _images()
    out, displacement = net(u, _gen(1))
    assert torch.equal(displacement, torch.zeros_like(displacement))
    torch.testing.assert_close(out, u, atol=1e-5, rtol=0)


def test_the_itn_adds_its_correction_in_tanh_pre_activation_space():
    itn = ITN(2, generator=_gen()).eval()
    u = _images()
    torch.testing.assert_close(itn(u), u, atol=1e-6, rtol=0)  # zero final conv: the residual path alone
    with torch.no_grad():
        itn.output.bias.fill_(0.3)
    torch.testing.assert_close(itn(u), torch.tanh(2 * from_istn_space(u) - 1 + 0.3), atol=1e-5, rtol=0)


def test_the_itn_in_training_needs_a_generator_for_dropout():
    itn = ITN(2, generator=_gen())
    with pytest.raises(ValueError, match="pass generator="):
        itn(_images())
    assert torch.equal(itn.eval()(_images()), itn(_images()))  # eval: no dropout, no generator needed


def test_dropout_masks_are_drawn_from_the_generator_only():
    state = torch.get_rng_state()
    a, b = sample_keep_mask((1000,), 0.5, _gen(3)), sample_keep_mask((1000,), 0.5, _gen(3))
    assert torch.equal(a, b) and not torch.equal(a, sample_keep_mask((1000,), 0.5, _gen(4)))
    assert 0.4 < a.float().mean() < 0.6
    assert torch.equal(torch.get_rng_state(), state)
    x = torch.ones(1000)
    assert torch.equal(apply_dropout(x, a, 0.5), a.float() * 2)


def test_intensity_convention_round_trips():
    x = torch.rand(B, C, H, W, generator=_gen())
    torch.testing.assert_close(from_istn_space(to_istn_space(x)), x, atol=1e-5, rtol=0)
    assert to_istn_space(torch.tensor([0.0, 1.0])).tolist() == pytest.approx([-math.tanh(1), math.tanh(1)])


def test_zero_affine_parameters_are_the_identity_matrix():
    zeros = {"translation": torch.zeros(B, 2), "rotation": torch.zeros(B, 1), "scale": torch.zeros(B, 2),
             "shear": torch.zeros(B, 1)}
    assert torch.equal(affine_matrix(zeros), torch.eye(2, 3).expand(B, 2, 3))


def test_affine_parameters_are_bounded_by_tanh():
    stn = AffineSTN(2, generator=_gen())
    with torch.no_grad():
        for head in stn.heads.values():
            head.bias.fill_(100.0)  # tanh saturates
    params = stn.parameters_of(_images())
    for name, value in params.items():
        torch.testing.assert_close(value, torch.full_like(value, AFFINE_BOUNDS[name]))


def test_an_affine_translation_is_a_constant_displacement():
    stn = AffineSTN(2, generator=_gen())
    with torch.no_grad():
        stn.heads["translation"].bias.copy_(torch.tensor([math.atanh(0.5), -math.atanh(0.25)]))
    _, displacement = stn(_images())
    expected = torch.tensor([0.05, -0.025]).view(1, 2, 1, 1).expand(B, 2, H, W)
    torch.testing.assert_close(displacement, expected, atol=1e-6, rtol=0)


def test_the_cubic_bspline_kernel():
    t = torch.tensor([0.0, 1.0, -1.0, 2.0, 2.5], dtype=torch.float64)
    assert cubic_bspline(t).tolist() == pytest.approx([2 / 3, 1 / 6, 1 / 6, 0.0, 0.0])
    s = torch.linspace(0, 1, 11, dtype=torch.float64)
    total = sum(cubic_bspline(s - k) for k in range(-2, 4))
    torch.testing.assert_close(total, torch.ones_like(s))  # partition of unity


@pytest.mark.parametrize("knot", [0.0, 1.0, 2.0])
def test_the_cubic_bspline_kernel_is_c2_at_its_knots(knot):
    h = 1e-3

    def second(t: float) -> float:
        x = torch.tensor([t - h, t, t + h], dtype=torch.float64)
        f = cubic_bspline(x)
        return float((f[0] - 2 * f[1] + f[2]) / h**2)

    assert second(knot - 3 * h) == pytest.approx(second(knot + 3 * h), abs=0.02)


@pytest.mark.parametrize("size,spacing", [(16, 4), (48, 8), (13, 5)])
def test_the_bspline_basis_is_a_partition_of_unity(size, spacing):
    basis = bspline_basis(size, spacing, dtype=torch.float64)
    assert basis.shape == (size, control_points(size, spacing))
    torch.testing.assert_close(basis.sum(dim=1), torch.ones(size, dtype=torch.float64))


def test_the_bspline_field_is_bounded_by_the_tanh_bound():
    stn = BSplineSTN((H, H), 2, spacing=4, max_displacement=0.1, generator=_gen())
    with torch.no_grad():
        stn.head.weight.normal_(0, 10.0, generator=_gen(2))
    _, field = stn(_images())
    assert field.abs().max() <= 0.1 + 1e-6 and field.abs().max() > 0.05
    with torch.no_grad():
        stn.head.weight.zero_()
        stn.head.bias.fill_(100.0)
    _, field = stn(_images())
    torch.testing.assert_close(field, torch.full_like(field, 0.1))  # all coefficients at the bound


def test_the_bspline_field_is_smooth():
    spacing, bound, size = 4, 0.1, 32
    k = control_points(size, spacing)
    sign = (-1.0) ** torch.arange(k, dtype=torch.float64)[:, None].expand(k, k)  # the roughest along H
    field = bspline_field((bound * sign).expand(1, 2, k, k), (size, size), spacing)
    second = (field[..., 2:, :] - 2 * field[..., 1:-1, :] + field[..., :-2, :]).abs().max()
    assert second <= 4 * bound / spacing**2 + 1e-12  # |beta3''| sums to at most 4 over the shifts
    assert second > 0.5 * 4 * bound / spacing**2  # and the bound is nearly reached: the check is not vacuous


def test_the_bspline_stn_rejects_another_image_size():
    stn = BSplineSTN((H, H), 2, spacing=4, generator=_gen())
    with pytest.raises(ValueError, match="built for"):
        stn(_images(size=24))


@pytest.mark.parametrize("mode", ["affine", "bspline"])
def test_warp_with_field_repeats_the_stn_transform(mode):
    net = ISTN(_tiny(mode), generator=_gen())
    head = net.stn.heads["rotation"] if mode == "affine" else net.stn.head
    with torch.no_grad():
        head.bias.normal_(0, 1.0, generator=_gen(5))
    u = _images()
    out, displacement = net(u)
    assert displacement.abs().max() > 1e-3
    torch.testing.assert_close(warp_with_field(u, displacement), out, atol=1e-5, rtol=0)


def test_construction_is_deterministic_and_leaves_the_global_rng_alone():
    state = torch.get_rng_state()
    a, b = ISTN(_tiny("itn+bspline"), generator=_gen(7)), ISTN(_tiny("itn+bspline"), generator=_gen(7))
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    assert torch.equal(torch.get_rng_state(), state)


def test_meta_device_builds_allocate_nothing():
    net = ISTN(ISTNConfig(mode="itn+bspline"), device="meta")
    assert all(p.is_meta for p in net.parameters())


def test_parameter_counts_at_nf_8():
    counts = {mode: ISTN.parameter_count(ISTNConfig(mode=mode)) for mode in MODES}
    assert counts == {"itn": 129_323, "affine": 18_534, "bspline": 98_562, "itn+affine": 147_857,
                      "itn+bspline": 227_885}
    n = {name: sum(p.numel() for p in net.parameters()) for name, net in (
        ("d32", Discriminator(device="meta")), ("d8", Discriminator(DiscriminatorConfig(features=8), device="meta")),
        ("task2", TaskCNN(device="meta")), ("task1", TaskCNN(TaskCNNConfig(outputs=1), device="meta")))}
    assert n == {"d32": 390_721, "d8": 25_105, "task2": 68_274, "task1": 68_209}


def test_bad_configurations_are_rejected():
    with pytest.raises(ValueError, match="mode must be one of"):
        ISTNConfig(mode="itn+affine+bspline")
    with pytest.raises(ValueError, match="features"):
        ISTNConfig(features=0)
    with pytest.raises(ValueError, match="negative_slope"):
        DiscriminatorConfig(negative_slope=1.5)
    with pytest.raises(ValueError, match="max_displacement"):
        BSplineSTN((H, H), max_displacement=0.0, device="meta")


def test_discriminator_and_task_cnn_shapes():
    u = _images()
    d = Discriminator(DiscriminatorConfig(features=2), generator=_gen())
    assert d(u, _gen(1)).shape == (B,)
    assert TaskCNN(TaskCNNConfig(outputs=2, features=2), generator=_gen())(u).shape == (B, 2)
    assert TaskCNN(TaskCNNConfig(outputs=1, features=2), generator=_gen())(u).shape == (B, 1)


def test_the_discriminator_in_training_needs_a_generator_for_dropout():
    with pytest.raises(ValueError, match="Discriminator is in training mode"):
        Discriminator(DiscriminatorConfig(features=2), generator=_gen())(_images())


def test_soft_labels_are_in_range_and_deterministic():
    state = torch.get_rng_state()
    real, fake = sample_soft_labels(1000, True, _gen(0)), sample_soft_labels(1000, False, _gen(0))
    assert 0.97 <= real.min() and real.max() <= 1.0 and real.max() - real.min() > 0.02
    assert 0.0 <= fake.min() and fake.max() <= 0.03 and fake.max() - fake.min() > 0.02
    assert torch.equal(real, sample_soft_labels(1000, True, _gen(0)))
    assert not torch.equal(real, sample_soft_labels(1000, True, _gen(1)))
    assert torch.equal(torch.get_rng_state(), state)


def test_soft_label_bce_is_bce_of_the_sigmoid():
    logits, labels = torch.tensor([-2.0, 0.5, 3.0]), torch.tensor([0.01, 0.98, 0.99])
    p = torch.sigmoid(logits)
    expected = -(labels * p.log() + (1 - labels) * (1 - p).log()).mean()
    torch.testing.assert_close(soft_label_bce(logits, labels), expected)
