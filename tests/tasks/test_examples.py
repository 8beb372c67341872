"""Examples for the task figures drawn from several datasets: each task from the first dataset that can pose it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuroicl.tasks.examples import AUGMENTED_TASKS, augmentation_examples, example_pools, example_setup, task_examples
from tests.helpers.toy import toy_split, toy_store

NEEDS_LABELS = {"segmentation", "masking", "synthetic_transfer"}


def setup_of(make_pool, task_config, order: list[str]):
    """'seg': labelled, one modality (as OASIS-1); 'multi': no labels, four modalities (as IXI, MSD)."""
    pools = {"seg": make_pool(name="seg", subjects=5), "multi": make_pool(name="multi", labels=False, subjects=5)}
    modalities = {"seg": 1, "multi": 4}
    stores = {name: toy_store(pools[name], modalities[name]) for name in order}
    splits = {name: toy_split(pools[name], 3) for name in order}
    return example_setup(task_config, stores, splits, "axial")


def dataset_of(setup, task: str) -> str:
    train, test = example_pools(setup, task)
    pools = setup.sampler.pools
    assert pools[train].name == pools[test].name and len(pools[train].subjects) == 3  # train, then test
    return pools[test].name


@pytest.mark.parametrize("order", [["seg", "multi"], ["multi", "seg"]])
def test_every_task_comes_from_the_first_dataset_that_can_pose_it(make_pool, task_config, order):
    setup = setup_of(make_pool, task_config, order)
    for task in setup.tasks:
        if task in NEEDS_LABELS:
            assert dataset_of(setup, task) == "seg"
        elif task == "modality_transfer":
            assert dataset_of(setup, task) == "multi"
        else:
            assert dataset_of(setup, task) == order[0]


@pytest.mark.parametrize("order", [["seg", "multi"], ["multi", "seg"]])
def test_every_task_gets_an_example(make_pool, task_config, order):
    setup = setup_of(make_pool, task_config, order)
    batches = task_examples(setup, seed=7, context_size=2)
    assert list(batches) == list(setup.tasks)
    for name, batch in batches.items():
        assert batch.target_in.shape[0] == 1 and batch.context_in.shape[1] == 2, name
        assert batch.target_out.abs().sum() > 0, name  # segmentation: a labelled structure is in the slice


def test_pools_are_train_then_test_per_dataset_in_order(make_pool, task_config):
    setup = setup_of(make_pool, task_config, ["multi", "seg"])
    pools = setup.sampler.pools
    assert [pool.name for pool in pools] == ["multi", "multi", "seg", "seg"]
    assert [pool.subjects for pool in pools[:2]] == [["sub-000", "sub-001", "sub-002"], ["sub-003", "sub-004"]]


def test_an_empty_split_is_an_error_naming_the_dataset(make_pool, task_config):
    pool = make_pool(name="seg")
    with pytest.raises(ValueError, match="'seg': the test split is empty"):
        example_setup(task_config, {"seg": toy_store(pool)}, {"seg": toy_split(pool, 6)}, "axial")


def test_a_task_no_dataset_can_pose_is_an_error(make_pool, task_config):
    pool = make_pool(name="multi", labels=False)
    setup = example_setup(task_config, {"multi": toy_store(pool)}, {"multi": toy_split(pool, 3)}, "axial")
    with pytest.raises(ValueError, match="'segmentation': no dataset among \\['multi'\\]"):
        example_pools(setup, "segmentation")


@pytest.mark.parametrize("order", [["seg", "multi"], ["multi", "seg"]])
def test_augmentations_need_labels_only_of_the_dataset_shown(make_pool, task_config, order):
    setup = setup_of(make_pool, task_config, order)
    batches = augmentation_examples(setup, seed=7)
    assert list(batches) == list(AUGMENTED_TASKS)
    assert "synthetic_modality" in batches["segmentation"]  # the labelled dataset, though the other has no labels
    assert ("synthetic_modality" in batches["denoising"]) == (order[0] == "seg")


def test_examples_are_deterministic_and_leave_the_global_rng_alone(make_pool, task_config):
    setup = setup_of(make_pool, task_config, ["multi", "seg"])
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    first, second = task_examples(setup, 3, 1), task_examples(setup, 3, 1)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], numpy_state[1])
    for name in first:
        assert torch.equal(first[name].target_in, second[name].target_in)
        assert torch.equal(first[name].context_out, second[name].context_out)
