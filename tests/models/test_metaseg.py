"""MetaSeg: SIREN initialisation, the inner loop, meta-gradients against finite differences, batched fits."""

from __future__ import annotations

import math

import pytest
import torch

from neuroicl.models.metaseg import (
    META_ORDERS,
    MetaSeg,
    MetaSegConfig,
    batched,
    fit,
    fit_pixels,
    grid_coords,
    init_head,
    init_inr,
    meta_gradient,
    pixel_loss,
)


def _tiny(**changes) -> MetaSegConfig:
    return MetaSegConfig(**{"width": 4, "hidden": 1, "channels": 1, "steps": 3, "lr": 1e-2, **changes})


def _problem(config: MetaSegConfig, b: int = 2, h: int = 3, w: int = 2, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    theta = {k: v.double().requires_grad_() for k, v in {**init_inr(config, g), **init_head(config, g)}.items()}
    images = torch.rand(b, h * w, config.channels, generator=g, dtype=torch.float64)
    labels = (torch.rand(b, h * w, generator=g) > 0.5).long()
    return theta, grid_coords(h, w).double(), images, labels


def test_siren_initialisation_ranges():
    config = MetaSegConfig(width=256, hidden=2)
    params = init_inr(config, torch.Generator().manual_seed(0))
    first = params["inr.0.weight"]
    assert first.shape == (256, 2) and first.abs().max() <= 1 / 2 and first.abs().max() > 0.45
    bound = math.sqrt(6 / 256) / 30
    for i in (1, 2, 3):
        weight = params[f"inr.{i}.weight"]
        assert weight.abs().max() <= bound and weight.abs().max() > 0.95 * bound
    assert params["inr.3.weight"].shape == (3, 256)
    head = init_head(config, torch.Generator().manual_seed(0))
    assert head["head.0.weight"].shape == (256, 256) and head["head.1.weight"].shape == (2, 256)


def test_the_paper_configurations_have_the_papers_parameter_counts():
    """W = 128 with 4 hidden layers and 5 classes: ~84 K; W = 512 with 3 and 24 classes: ~1.06 M (one channel)."""
    for config, expected in ((MetaSegConfig(width=128, hidden=4, classes=5, channels=1), 84e3),
                             (MetaSegConfig(width=512, hidden=3, classes=24, channels=1), 1.06e6)):
        count = sum(p.numel() for p in MetaSeg(config).parameters())
        assert abs(count - expected) / expected < 0.02, count


@pytest.mark.parametrize("order", META_ORDERS)
def test_the_inner_loop_changes_only_the_copies(order):
    config = _tiny()
    theta, coords, images, labels = _problem(config)
    before = {k: v.detach().clone() for k, v in theta.items()}
    meta_gradient(theta, config, coords, images, labels, inner_steps=2, order=order)
    assert all(torch.equal(before[k], theta[k]) for k in theta)


def _adapted_loss(theta, config, coords, images, labels, steps):
    loss = pixel_loss(config, coords, images, labels)
    copies = batched(theta, images.shape[0])
    adapted = fit(copies, loss, list(theta), steps, config.lr, create_graph=True)
    return loss(adapted, None).mean(), adapted, loss


def test_second_order_meta_gradient_matches_finite_differences():
    config = _tiny()
    theta, coords, images, labels = _problem(config)
    grads, _ = meta_gradient(theta, config, coords, images, labels, inner_steps=2, order="second")
    eps = 1e-6
    for name in ("inr.0.weight", "inr.1.bias", "head.1.weight"):
        for index in ((0, 0), (1,)) if theta[name].ndim == 1 else ((0, 0), (1, 1)):
            if len(index) != theta[name].ndim:
                continue
            values = []
            for sign in (1, -1):
                shifted = {k: v.detach().clone() for k, v in theta.items()}
                shifted[name][index] += sign * eps
                shifted = {k: v.requires_grad_() for k, v in shifted.items()}
                values.append(float(_adapted_loss(shifted, config, coords, images, labels, 2)[0].detach()))
            numeric = (values[0] - values[1]) / (2 * eps)
            assert grads[name][index].item() == pytest.approx(numeric, rel=1e-4, abs=1e-8), (name, index)


def test_first_order_meta_gradient_is_the_gradient_at_the_adapted_weights():
    config = _tiny()
    theta, coords, images, labels = _problem(config)
    grads, _ = meta_gradient(theta, config, coords, images, labels, inner_steps=2, order="first")
    _, adapted, loss = _adapted_loss(theta, config, coords, images, labels, 2)
    adapted = {k: v.detach() for k, v in adapted.items()}
    eps = 1e-6
    for name in ("inr.1.weight", "head.0.bias"):
        values = []
        for sign in (1, -1):
            shifted = dict(adapted)
            shifted[name] = adapted[name].clone()
            shifted[name][(slice(None),) + (0,) * (adapted[name].ndim - 1)] += sign * eps  # each copy alike
            values.append(float(loss(shifted, None).mean()))
        numeric = (values[0] - values[1]) / (2 * eps)
        assert grads[name][(0,) * grads[name].ndim].item() == pytest.approx(numeric, rel=1e-4, abs=1e-8)
    second, _ = meta_gradient(theta, config, coords, images, labels, inner_steps=2, order="second")
    assert not torch.allclose(second["inr.0.weight"], grads["inr.0.weight"])


def test_reptile_direction_is_theta_minus_the_mean_adapted_weights():
    config = _tiny()
    theta, coords, images, labels = _problem(config)
    grads, _ = meta_gradient(theta, config, coords, images, labels, inner_steps=3, order="reptile")
    _, adapted, _ = _adapted_loss(theta, config, coords, images, labels, 3)
    for name in theta:
        assert torch.allclose(grads[name], theta[name].detach() - adapted[name].detach().mean(0), atol=1e-12)
        assert grads[name].abs().max() > 0


@pytest.mark.parametrize("fit_subset", [None, 7])
def test_batched_fits_equal_sequential_fits(fit_subset):
    """Also with pixel subsets: one subset per step for the whole batch, so an image's fit ignores the batch."""
    config = _tiny(channels=3, width=8, steps=4, fit_subset=fit_subset)
    model = MetaSeg(config, generator=torch.Generator().manual_seed(3))
    images = torch.rand(3, 3, 5, 4, generator=torch.Generator().manual_seed(4))
    together = fit_pixels(model.params(), config, images)
    for b in range(3):
        alone = fit_pixels(model.params(), config, images[b:b + 1])
        for name in together:
            assert torch.allclose(together[name][b], alone[name][0], atol=1e-6), name


def test_inference_never_reads_labels_or_context():
    config = _tiny(channels=3, width=8)
    model = MetaSeg(config, generator=torch.Generator().manual_seed(0))
    target = torch.rand(2, 3, 6, 5, generator=torch.Generator().manual_seed(1))
    empty = torch.zeros(2, 0, 3, 6, 5)
    garbage = torch.full((2, 2, 3, 6, 5), float("nan"))
    first = model.predict(target, empty, empty, None)
    second = model.predict(target, garbage, garbage, None)
    assert torch.equal(first, second) and first.shape == (2, 3, 6, 5)
    assert ((first >= 0) & (first <= 1)).all() and torch.equal(first[:, 0], first[:, 2])
    before = {k: v.detach().clone() for k, v in model.params().items()}
    model.segment(target)
    assert all(torch.equal(before[k], v) for k, v in model.params().items())


def test_same_seed_same_model_and_prediction():
    config = _tiny(channels=3, width=8)
    target = torch.rand(1, 3, 6, 5, generator=torch.Generator().manual_seed(1))
    a, b = (MetaSeg(config, generator=torch.Generator().manual_seed(5)) for _ in range(2))
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))
    empty = torch.zeros(1, 0, 3, 6, 5)
    assert torch.equal(a.predict(target, empty, empty, None), b.predict(target, empty, empty, None))
    c = MetaSeg(config, generator=torch.Generator().manual_seed(6))
    assert not torch.equal(a.predict(target, empty, empty, None), c.predict(target, empty, empty, None))


def test_random_pixel_subsets_follow_the_generator():
    config = _tiny()
    theta, coords, images, labels = _problem(config, h=4, w=4)
    runs = [meta_gradient(theta, config, coords, images, labels, inner_steps=2, order="first", pixels=5,
                          generator=torch.Generator().manual_seed(s))[0]["inr.0.weight"] for s in (1, 1, 2)]
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])


@pytest.mark.parametrize("order", ["first", "second"])
def test_the_outer_loss_on_a_pixel_subset_is_the_adapted_loss_on_the_drawn_pixels(order):
    """``outer_pixels``: the outer loss reads the pixels drawn after the inner steps' (none here), and its
    meta-gradient is that loss's gradient; as many pixels as the image has is the full outer loss."""
    config = _tiny()
    theta, coords, images, labels = _problem(config, h=4, w=4)
    grads, value = meta_gradient(theta, config, coords, images, labels, inner_steps=2, order=order, outer_pixels=5,
                                 generator=torch.Generator().manual_seed(7))
    index = torch.rand(1, 16, generator=torch.Generator().manual_seed(7)).argsort(dim=1)[:, :5].expand(2, -1)
    loss = pixel_loss(config, coords, images, labels)
    adapted = fit(batched(theta, 2), loss, list(theta), 2, config.lr, create_graph=True)
    if order == "first":
        adapted = {k: v.detach().requires_grad_() for k, v in adapted.items()}
    outer = loss(adapted, index).mean()
    sources = [theta[k] for k in theta] if order == "second" else [adapted[k] for k in theta]
    expected = [g if order == "second" else g.sum(0) for g in torch.autograd.grad(outer, sources)]
    assert value == pytest.approx(float(outer.detach()))
    assert all(torch.allclose(grads[k], e, atol=1e-12) for k, e in zip(theta, expected, strict=True))
    full, _ = meta_gradient(theta, config, coords, images, labels, inner_steps=2, order=order)
    every, _ = meta_gradient(theta, config, coords, images, labels, inner_steps=2, order=order, outer_pixels=16)
    assert all(torch.equal(full[k], every[k]) for k in theta)
    assert not torch.allclose(full["inr.1.weight"], grads["inr.1.weight"])


def test_a_fit_on_pixel_subsets_is_deterministic_and_differs_from_the_full_fit():
    full = _tiny(channels=3, width=8, steps=3)
    subset = _tiny(channels=3, width=8, steps=3, fit_subset=5)
    model = MetaSeg(full, generator=torch.Generator().manual_seed(3))
    images = torch.rand(2, 3, 5, 4, generator=torch.Generator().manual_seed(4))
    first, again = fit_pixels(model.params(), subset, images), fit_pixels(model.params(), subset, images)
    every = fit_pixels(model.params(), full, images)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not all(torch.allclose(first[k], every[k]) for k in first)
    with pytest.raises(ValueError, match="fit_subset"):
        _tiny(fit_subset=0)


@pytest.mark.parametrize("fit_subset", [None, 6])
def test_one_trajectory_read_at_several_steps_equals_separate_fits(fit_subset):
    """Dice against T (the paper's Fig. 2) reads one fit at each T; each equals a fit of exactly T steps."""
    config = _tiny(channels=3, width=8, steps=4, fit_subset=fit_subset)
    model = MetaSeg(config, generator=torch.Generator().manual_seed(5))
    images = torch.rand(2, 3, 5, 4, generator=torch.Generator().manual_seed(6))
    along = model.segment_steps(images, [0, 1, 3])
    assert list(along) == [0, 1, 3]
    for t, probabilities in along.items():
        assert torch.allclose(probabilities, model.segment(images, steps=t), atol=1e-6), t
    assert not torch.allclose(along[0], along[3])
    with pytest.raises(ValueError, match="non-negative"):
        model.segment_steps(images, [])
