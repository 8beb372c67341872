"""Each task: shapes and ranges, identity at zero strength, and what its target is."""

import numpy as np
import pytest
import torch

from neuroicl.tasks.base import TASKS
from neuroicl.tasks.catalog import build_tasks
from neuroicl.tasks.episodes import ContextSettings, EpisodeSampler
from neuroicl.tasks.synthesize import synthesize

ZERO = {
    "denoising": {"sigma": [0.0, 0.0], "bias_magnitude": [0.0, 0.0]},
    "super_resolution": {"factor": [1.0, 1.0]},
    "motion": {"degrees": [0.0, 0.0], "translation_px": [0.0, 0.0]},
    "undersampling": {"accelerations": [1.0], "center_fractions": [0.5]},
    "inpainting": {"coverage": [0.0, 0.0]},
}


def _batch(pool, name, settings=None, context_size=3, seed=0, episodes=4):
    tasks = build_tasks(settings or {})
    sampler = EpisodeSampler([pool], tasks, {name: 1.0}, ContextSettings(slice_window=1))
    rng = np.random.default_rng(seed)
    plans = [sampler.episode(rng, name, context_size) for _ in range(episodes)]
    return plans, synthesize([pool], plans, tasks, None, torch.Generator().manual_seed(seed))


def test_all_ten_tasks_are_registered():
    build_tasks()
    assert sorted(TASKS) == sorted(
        ["segmentation", "modality_transfer", "super_resolution", "skull_stripping", "motion", "undersampling",
         "denoising", "inpainting", "synthetic_transfer", "masking"]
    )


@pytest.mark.parametrize("name", sorted(build_tasks()))
def test_shapes_ranges_and_finiteness(make_pool, name):
    _, batch = _batch(make_pool(), name)
    assert batch.target_in.shape == batch.target_out.shape == (4, 3, 32, 32)
    assert batch.context_in.shape == batch.context_out.shape == (4, 3, 3, 32, 32)
    for tensor in (batch.target_in, batch.context_in):  # noisy inputs may dip below zero
        assert torch.isfinite(tensor).all() and tensor.min() >= -1 and tensor.max() <= 2
    for tensor in (batch.target_out, batch.context_out):
        assert torch.isfinite(tensor).all() and tensor.min() >= 0 and tensor.max() <= 1.5
    assert batch.tasks == (name,) * 4
    assert batch.active.any(1).all()


@pytest.mark.parametrize("name", sorted(ZERO))
def test_zero_strength_is_identity(make_pool, name):
    _, batch = _batch(make_pool(), name, {name: ZERO[name]})
    active = batch.active[:, :, None, None]
    assert torch.allclose(batch.target_in * active, batch.target_out * active, atol=1e-4)
    ctx_in, ctx_out = batch.context_in, batch.context_out
    used = ctx_out.flatten(3).abs().amax(3) > 0
    assert torch.allclose(ctx_in * used[..., None, None], ctx_out, atol=1e-4)


@pytest.mark.parametrize("name", ["denoising", "super_resolution", "motion", "undersampling", "inpainting"])
def test_default_strength_changes_the_input(make_pool, name):
    _, batch = _batch(make_pool(), name)
    active = batch.active[:, :, None, None]
    assert (batch.target_in * active - batch.target_out * active).abs().mean() > 1e-3


def test_segmentation_target_is_the_union_of_the_chosen_classes(make_pool):
    pool = make_pool()
    plans, batch = _batch(pool, "segmentation", {"segmentation": {"max_classes": 2, "bilateral_probability": 0.0}})
    for plan, target in zip(plans, batch.target_out, strict=True):
        labels = pool.labels[plan.rows[0]].long()
        expected = torch.isin(labels, torch.tensor(plan.choice)).float()
        assert torch.equal(target, expected.expand(3, -1, -1))
        assert 1 <= len(plan.choice) <= 2


def test_bilateral_choice_adds_the_other_hemisphere(make_pool):
    pool = make_pool()
    plans, _ = _batch(
        pool, "segmentation", {"segmentation": {"max_classes": 1, "bilateral_probability": 1.0}}, episodes=20
    )
    for plan in plans:
        lateral = [c for c in plan.choice if c <= 26]
        assert len(lateral) in (0, 2) and (not lateral or lateral[1] == lateral[0] + 1)


def test_skull_stripping_input_keeps_the_head_and_target_is_the_brain(make_pool):
    pool = make_pool()
    plans, batch = _batch(pool, "skull_stripping")
    outside = ~pool.brain[0]
    assert (batch.target_in[:, 0][:, outside] > 0).any()
    assert torch.equal(batch.target_out[:, 0], pool.brain[plans[0].rows[0]].float().expand(4, -1, -1))


def test_other_tasks_see_skull_stripped_inputs(make_pool):
    pool = make_pool()
    _, batch = _batch(pool, "denoising", {"denoising": ZERO["denoising"]})
    assert batch.target_in[:, :, ~pool.brain[0]].abs().max() == 0


def test_modality_transfer_target_is_another_modality(make_pool):
    pool = make_pool()
    plans, batch = _batch(pool, "modality_transfer")
    for plan, target in zip(plans, batch.target_out, strict=True):
        assert plan.target_modality[0] >= 0 and plan.target_modality[0] not in plan.inputs[0]
        expected = pool.images[plan.rows[0], plan.target_modality[0]].float() * pool.brain[0]
        assert torch.allclose(target[0], expected)


def test_inpainting_puts_the_mask_in_the_first_free_channel(make_pool):
    plans, batch = _batch(make_pool(), "inpainting", {"inpainting": {"coverage": [0.2, 0.2]}})
    for plan, x, active in zip(plans, batch.target_in, batch.active, strict=True):
        used = int((plan.inputs[0] >= 0).sum())
        assert used <= 2 and active.sum() == used
        mask = x[used]
        assert set(mask.unique().tolist()) <= {0.0, 1.0}
        assert mask.mean() == pytest.approx(0.2, abs=1 / 1024)
        assert (x[:used] * mask).abs().max() == 0


def test_synthetic_transfer_is_constant_per_class_without_std(make_pool):
    pool = make_pool()
    plans, batch = _batch(pool, "synthetic_transfer", {"synthetic_transfer": {"std": [0.0, 0.0]}})
    labels = pool.labels[plans[0].rows[0]]
    for value in labels.unique():
        if value > 0:
            assert batch.target_out[0, 0][labels == value].unique().numel() == 1
    # the same class means for the target and its whole context: it is one task
    for item in range(3):
        assert torch.allclose(batch.context_out[0, item, 0][labels == 3], batch.target_out[0, 0][labels == 3])


def test_unknown_task_and_setting_are_errors_naming_them():
    with pytest.raises(ValueError, match="segmentaton"):
        build_tasks({"segmentaton": {}})
    with pytest.raises(ValueError, match="tasks.settings.denoising: unknown keys \\['sigm'\\]"):
        build_tasks({"denoising": {"sigm": [0, 1]}})
    with pytest.raises(ValueError, match="tasks.settings.motion: degrees"):
        build_tasks({"motion": {"degrees": [5.0, 1.0]}})
