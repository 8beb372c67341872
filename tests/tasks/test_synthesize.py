"""Batch synthesis: determinism, shapes, and the guarantees every model's evaluation relies on."""

import numpy as np
import pytest
import torch

from neuroicl.tasks.augment import AugmentationTree
from neuroicl.tasks.base import build_tasks
from neuroicl.tasks.episodes import ContextSettings, EpisodeSampler
from neuroicl.tasks.setup import build, flip_dim
from neuroicl.tasks.synthesize import synthesize


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
