"""Example samples of every task and of every augmentation, for the figures (supplement Fig. 6–9, 11).

Targets come from the test split and contexts from the training split, as in evaluation.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch

from neuroicl.preprocess.slices import SliceStore
from neuroicl.tasks.augment import AUGMENTATIONS, AugmentationTree, Node
from neuroicl.tasks.pool import Pool
from neuroicl.tasks.setup import TaskSetup, build
from neuroicl.tasks.synthesize import Batch, synthesize

#: The tasks the augmentation figure shows (as the supplement's Fig. 11).
AUGMENTED_TASKS = ("segmentation", "denoising")


def example_setup(config: dict[str, Any], store: SliceStore, splits: dict[str, list[str]], slice_axis: str) -> TaskSetup:
    """Pools ``[train, test]`` of one dataset and the task setup over them."""
    for part in ("train", "test"):
        if not splits.get(part):
            raise ValueError(f"the {part} split is empty; the examples need training contexts and test targets")
    pools = [Pool.from_store("dataset", store, splits[part]) for part in ("train", "test")]
    return build(config, pools, slice_axis)


def _central_target(setup: TaskSetup, rng: np.random.Generator) -> tuple[int, int]:
    test = setup.sampler.pools[1]
    middle = np.median(np.unique(test.slice))
    rows = np.flatnonzero(np.abs(test.slice - middle) <= 1)
    return 1, int(rows[rng.integers(len(rows))])


def task_examples(setup: TaskSetup, seed: int, context_size: int) -> dict[str, Batch]:
    """One batch (one episode, no augmentation) per task, keyed by task name in registry order.

    Draws are repeated (up to 20 times) until the target output is not empty, so that a
    segmentation example shows a structure that is in the slice.
    """
    out = {}
    for name in setup.tasks:
        rng = np.random.default_rng([seed, list(setup.tasks).index(name)])
        for _ in range(20):
            target = _central_target(setup, rng)
            episode = setup.sampler.episode(rng, name, context_size, target=target, augment=False, context_pools=[0])
            generator = torch.Generator().manual_seed(seed)
            out[name] = synthesize(setup.sampler.pools, [episode], setup.tasks, None, generator)
            if out[name].target_out.abs().sum() > 0:
                break
    return out


def augmentation_examples(setup: TaskSetup, seed: int, context_size: int = 1) -> dict[str, dict[str, Batch]]:
    """For each task of :data:`AUGMENTED_TASKS`: the plain sample and the same sample with each augmentation.

    Keys: ``none``, every augmentation name the task can get, and ``tree 1``…``tree 3`` (draws of the
    configured tree); the same episode and generator seed throughout, so the columns differ only by it.
    """
    out: dict[str, dict[str, Batch]] = {}
    for name in AUGMENTED_TASKS:
        rng = np.random.default_rng([seed, list(setup.tasks).index(name)])
        episode = setup.sampler.episode(
            rng, name, context_size, target=_central_target(setup, rng), augment=False, context_pools=[0]
        )
        task = setup.tasks[name]
        has_labels = all(pool.has_labels for pool in setup.sampler.pools)
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
