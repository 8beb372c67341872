"""Batch synthesis: determinism, shapes, and the guarantees every model's evaluation relies on."""

import numpy as np
import pytest
import torch

from neuroicl.models.factory import build_model
from neuroicl.tasks.augment import AugmentationTree
from neuroicl.tasks.catalog import build_tasks
from neuroicl.tasks.episodes import ContextSettings, EpisodeSampler
from neuroicl.tasks.setup import build, flip_dim
from neuroicl.tasks.synthesize import (
    FAMILIES,
    plan,
    synthesize,
    synthesize_planned,
    upload,
)
from neuroicl.training.loop import batch_loss
from tests.helpers.host_sync import HostSyncGuard


def _setup(pool, task_config):
    return build(task_config, [pool], "coronal")


def _batch(setup, pool, seed):
    episodes = setup.sampler.sample(np.random.default_rng(seed), 12, context_size=4)
    return synthesize([pool], episodes, setup.tasks, setup.tree, torch.Generator().manual_seed(seed), setup.flip_dim)


def test_same_seed_same_batch_and_global_rng_untouched(make_pool, task_config):
    pool = make_pool()
    setup = _setup(pool, task_config)
    state = torch.get_rng_state()
    numpy_state = np.random.get_state()[1].copy()
    one, two = _batch(setup, pool, 0), _batch(setup, pool, 0)
    assert torch.equal(torch.get_rng_state(), state) and (np.random.get_state()[1] == numpy_state).all()
    for name in ("target_in", "target_out", "context_in", "context_out", "active"):
        assert torch.equal(getattr(one, name), getattr(two, name))
    assert not torch.equal(one.target_in, _batch(setup, pool, 1).target_in)


def test_batch_layout(make_pool, task_config):
    pool = make_pool()
    batch = _batch(_setup(pool, task_config), pool, 2)
    assert batch.target_in.shape == (12, 3, 32, 32) and batch.context_out.shape == (12, 4, 3, 32, 32)
    assert batch.active.shape == (12, 3) and batch.active.dtype == torch.bool
    assert len(batch.tasks) == len(batch.families) == 12


def test_episodes_of_one_batch_must_share_the_context_size(make_pool):
    pool = make_pool()
    tasks = build_tasks()
    sampler = EpisodeSampler([pool], tasks, {"denoising": 1.0}, ContextSettings())
    rng = np.random.default_rng(0)
    episodes = [sampler.episode(rng, "denoising", 2), sampler.episode(rng, "denoising", 3)]
    with pytest.raises(ValueError, match="share the context size"):
        synthesize([pool], episodes, tasks, None, torch.Generator())


def test_flip_needs_a_left_right_axis(make_pool, task_config):
    assert flip_dim("coronal") == 2 and flip_dim("axial") == 2 and flip_dim("sagittal") is None
    setup = build(task_config, [make_pool()], "sagittal")
    rng = np.random.default_rng(0)
    assert not any("random_flip" in e.augmentations for e in setup.sampler.sample(rng, 200, context_size=1))
    tree = AugmentationTree.from_config({"tree": {"spatial": {"op": "random_flip"}}, "settings": {}})
    sampler = EpisodeSampler([make_pool()], setup.tasks, {"denoising": 1.0}, ContextSettings(), tree)
    with pytest.raises(ValueError, match="left-right"):
        synthesize([make_pool()], sampler.sample(rng, 1, 1), setup.tasks, tree, torch.Generator(), flip_dim=None)


def test_float16_pool_gives_float32_batches(make_pool, task_config):
    pool = make_pool()
    assert pool.images.dtype == torch.float16
    assert _batch(_setup(pool, task_config), pool, 3).target_in.dtype == torch.float32


def test_upload_is_one_buffer_with_each_arrays_shape():
    arrays = {"a": np.arange(6).reshape(2, 3), "b": np.array([True, False]), "empty": np.zeros(0, dtype=np.int64)}
    index = upload(arrays, torch.device("cpu"))
    assert index["a"].tolist() == [[0, 1, 2], [3, 4, 5]] and index["b"].tolist() == [1, 0]
    assert index["empty"].shape == (0,) and all(t.dtype == torch.int64 for t in index.values())
    assert index["a"].untyped_storage().data_ptr() == index["b"].untyped_storage().data_ptr()


def test_family_ids_name_each_episodes_family(make_pool, task_config):
    pool = make_pool()
    batch = _batch(_setup(pool, task_config), pool, 4)
    assert [FAMILIES[i] for i in batch.family_ids.tolist()] == list(batch.families)


def test_no_host_round_trips_after_the_plan_upload(make_pool, task_config):
    """Synthesis, forward, loss and backward of every task and augmentation of the default config never read a
    device value on the host nor upload host data, beyond the step's one plan upload (HostSyncGuard)."""
    pools = [make_pool("a", subjects=4, slices=5, size=32), make_pool("b", labels=False, subjects=3, slices=5, size=32)]
    setup = build(task_config, pools, "coronal")
    model = build_model("neuralizer", channels=4, levels=2, generator=torch.Generator().manual_seed(0))
    tasks, leaves = set(), set()
    for seed in range(4):
        episodes = setup.sampler.sample(np.random.default_rng(seed), 16, context_size=2)
        tasks |= {e.task for e in episodes}
        leaves |= {a for e in episodes for a in e.augmentations}
        index = upload(plan(pools, episodes, setup.tasks, setup.tree), torch.device("cpu"))
        model.zero_grad(set_to_none=True)
        guard = HostSyncGuard([t for p in pools for t in (p.images, p.labels, p.brain)])
        guard.allow([*model.parameters(), *index.values()])
        with guard:
            generator = torch.Generator().manual_seed(seed)
            batch = synthesize_planned(pools, episodes, setup.tasks, setup.tree, generator, index)
            batch_loss(model, batch, {"reconstruction": 5.0}).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        assert guard.violations == []
    assert tasks == set(setup.tasks) and leaves == set(setup.tree.leaves)  # the check covered everything


def test_planned_synthesis_is_synthesize(make_pool, task_config):
    pool = make_pool()
    setup = _setup(pool, task_config)
    episodes = setup.sampler.sample(np.random.default_rng(5), 6, context_size=3)
    one = synthesize([pool], episodes, setup.tasks, setup.tree, torch.Generator().manual_seed(5), setup.flip_dim)
    index = upload(plan([pool], episodes, setup.tasks, setup.tree), torch.device("cpu"))
    two = synthesize_planned([pool], episodes, setup.tasks, setup.tree, torch.Generator().manual_seed(5), index)
    assert torch.equal(one.context_out, two.context_out) and torch.equal(one.target_in, two.target_in)
