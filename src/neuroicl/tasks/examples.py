"""Example samples of every task and of every augmentation, for the figures (supplement Fig. 6–9, 11).

Every dataset of the run contributes two pools, its training and its test split; each task is shown on
the first dataset (config order) that can pose it — segmentation needs label maps, modality transfer
two modalities — with the target from that dataset's test split and the context from its training
split, as in evaluation.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch

from neuroicl.data.slice_store import SliceStore
from neuroicl.tasks.augment import AUGMENTATIONS, AugmentationTree, Node
from neuroicl.tasks.pool import Pool
from neuroicl.tasks.setup import TaskSetup, build
from neuroicl.tasks.synthesize import Batch, synthesize

#: The tasks the augmentation figure shows (as the supplement's Fig. 11).
AUGMENTED_TASKS = ("segmentation", "denoising")

#: The splits each dataset contributes, in pool order: contexts from the first, targets from the second.
PARTS = ("train", "test")


def example_setup(
    config: dict[str, Any],
    stores: dict[str, SliceStore],
    splits: dict[str, dict[str, list[str]]],
    slice_axis: str,
) -> TaskSetup:
    """Pools ``[train, test]`` of every dataset in ``stores`` (in its order) and the task setup over them.

    ``stores`` and ``splits`` are keyed by dataset name, as :func:`neuroicl.data.sources.open_datasets`
    returns them.
    """
    pools = []
    for name, store in stores.items():
        if name not in splits:
            raise ValueError(f"dataset {name!r} has a slice store but no split; splits: {sorted(splits)}")
        for part in PARTS:
            if not splits[name].get(part):
                raise ValueError(
                    f"dataset {name!r}: the {part} split is empty; the examples need training contexts and test targets"
                )
            pools.append(Pool.from_store(name, store, splits[name][part]))
    return build(config, pools, slice_axis)


def example_pools(setup: TaskSetup, task: str) -> tuple[int, int]:
    """(training pool, test pool) of the first dataset that can pose ``task``, in a setup of
    :func:`example_setup` (pools ``[train, test]`` per dataset).

    Raises:
        ValueError: if no dataset can pose the task (e.g. segmentation without any labelled dataset).
    """
    valid = setup.sampler.valid[task]
    pools = setup.sampler.pools
    for train in range(0, len(pools) - 1, len(PARTS)):
        if train in valid and train + 1 in valid:
            return train, train + 1
    names = list(dict.fromkeys(pool.name for pool in pools))
    raise ValueError(f"task {task!r}: no dataset among {names} can pose it (labels/modalities)")


def _central_target(setup: TaskSetup, task: str, test: int, rng: np.random.Generator) -> tuple[int, int]:
    """A row of pool ``test`` within one position of its middle slice, with the modalities ``task`` needs."""
    pool = setup.sampler.pools[test]
    middle = np.median(np.unique(pool.slice))
    usable = pool.available.sum(1) >= setup.tasks[task].min_modalities
    rows = np.flatnonzero((np.abs(pool.slice - middle) <= 1) & usable)
    if len(rows) == 0:
        raise ValueError(f"task {task!r}: dataset {pool.name!r} has no central test slice with the modalities it needs")
    return test, int(rows[rng.integers(len(rows))])


def task_examples(setup: TaskSetup, seed: int, context_size: int) -> dict[str, Batch]:
    """One batch (one episode, no augmentation) per task, keyed by task name in registry order.

    Each task comes from :func:`example_pools`. Draws are repeated (up to 20 times) until the target
    output is not empty, so that a segmentation example shows a structure that is in the slice.
    """
    out = {}
    for name in setup.tasks:
        train, test = example_pools(setup, name)
        rng = np.random.default_rng([seed, list(setup.tasks).index(name)])
        for _ in range(20):
            target = _central_target(setup, name, test, rng)
            episode = setup.sampler.episode(
                rng, name, context_size, target=target, augment=False, context_pools=[train]
            )
            generator = torch.Generator().manual_seed(seed)
            out[name] = synthesize(setup.sampler.pools, [episode], setup.tasks, None, generator)
            if out[name].target_out.abs().sum() > 0:
                break
    return out


def augmentation_examples(setup: TaskSetup, seed: int, context_size: int = 1) -> dict[str, dict[str, Batch]]:
    """For each task of :data:`AUGMENTED_TASKS`: the plain sample and the same sample with each augmentation.

    Keys: ``none``, every augmentation name the task can get, and ``tree 1``…``tree 3`` (draws of the
    configured tree); the same episode and generator seed throughout, so the columns differ only by it.
    Each task's sample comes from :func:`example_pools` (segmentation: the first labelled dataset).
    """
    out: dict[str, dict[str, Batch]] = {}
    for name in AUGMENTED_TASKS:
        train, test = example_pools(setup, name)
        rng = np.random.default_rng([seed, list(setup.tasks).index(name)])
        target = _central_target(setup, name, test, rng)
        episode = setup.sampler.episode(rng, name, context_size, target=target, augment=False, context_pools=[train])
        task = setup.tasks[name]
        has_labels = all(setup.sampler.pools[i].has_labels for i in set(episode.pools.tolist()))
        omit = setup.sampler.omit.get(name, set())
        rows: dict[str, tuple[AugmentationTree | None, tuple[str, ...]]] = {"none": (None, ())}
        for leaf, cls in AUGMENTATIONS.items():
            op = setup.tree.leaves.get(leaf) or cls()  # the configured settings where the tree has the leaf
            if leaf not in omit and op.applies(task, has_labels):
                rows[leaf] = (AugmentationTree({cls.group: Node(leaf, 1.0)}, {leaf: op}), (leaf,))
        for draw in range(3):
            rows[f"tree {draw + 1}"] = (setup.tree, setup.tree.sample_plan(task, has_labels, omit, rng))
        out[name] = {}
        for key, (tree, plan) in rows.items():
            planned = replace(episode, augmentations=plan)
            generator = torch.Generator().manual_seed(seed)
            out[name][key] = synthesize(setup.sampler.pools, [planned], setup.tasks, tree, generator, setup.flip_dim)
    return out
