"""What a run trains on: its training subjects per dataset, as pools on the training device.

Every run trains on the training split of every dataset that can pose its tasks (the task-specific
U-Nets on nested subsets of ``k`` pooled subjects). A run with ``target_images`` also receives the
test split's images as *unlabeled* pools: label maps zeroed, so no test label reaches a trainer
(the target domain of domain adaptation, ISTN).

Example:
    >>> data = training_data(run, config, stores, splits, torch.device("cpu"))
    >>> [pool.name for pool in data.pools], data.target_pools
    (['embedded'], [])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from neuroicl.data.slice_store import SliceStore
from neuroicl.models.base import TrainablePredictor
from neuroicl.plan.runs import Run
from neuroicl.tasks.base import Task
from neuroicl.tasks.catalog import build_tasks
from neuroicl.tasks.pool import Pool

#: What a trainer returns (:data:`neuroicl.training.runner.Trainer`): the networks by label ("" for one), the rows of
#: the training log, and what else the model file keeps besides the networks, by key ({} for nothing).
Trained = tuple[dict[str, TrainablePredictor], list[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class TrainingData:
    """The data one run trains on.

    Attributes:
        pools: one pool per dataset with training subjects (config order), on the training device.
        subjects: the training subjects (a list for one dataset, else per dataset): part of the
            checkpoint fingerprint.
        target_pools: the test split's images without labels, per dataset (only for ``run.target_images``).
        device: the training device.
    """

    pools: list[Pool]
    subjects: list[str] | dict[str, list[str]]
    target_pools: list[Pool]
    device: torch.device


def subject_subset(subjects: list[str], count: int | None, seed: int) -> list[str]:
    """The first ``count`` of a seeded shuffle of ``subjects`` (nested: 1 ⊂ 2 ⊂ 4 ...); all if None."""
    if count is None:
        return sorted(subjects)
    if not 1 <= count <= len(subjects):
        raise ValueError(f"asked for {count} training subjects, the training split has {len(subjects)}")
    order = np.random.default_rng([seed, 7]).permutation(len(subjects))
    return sorted(sorted(subjects)[i] for i in order[:count])


def can_pose(task: Task, store: SliceStore) -> bool:
    """Whether a dataset's slice store can provide ``task``: enough modalities, and label maps where it needs them.

    Labels are looked for on a spread of at most 64 slices (a labelled dataset has them on every brain slice).
    """
    if len(store.modalities) < task.min_modalities:
        return False
    step = max(1, len(store.labels) // 64)
    return not task.needs_labels or bool(np.asarray(store.labels[::step]).any())


def training_subjects(
    run: Run,
    tasks_config: dict[str, Any],
    stores: Mapping[str, SliceStore],
    splits: Mapping[str, dict[str, list[str]]],
    seed: int,
) -> dict[str, list[str]]:
    """The training subjects of ``run``, per dataset (datasets without any are left out).

    All runs but the U-Nets with ``k`` subjects take every dataset's whole training split. ``k`` subjects
    are drawn from the *pooled* training subjects of the datasets that can pose the run's task (ids
    ``<dataset>/<subject>``, sorted): nested subsets of one seeded shuffle (:func:`subject_subset`), ``k``
    capped by the pooled count. With one dataset this is that dataset's subset.
    """
    if run.subjects is None:
        return {name: sorted(splits[name]["train"]) for name in stores}
    tasks = build_tasks(tasks_config["settings"])
    usable = [name for name in stores if all(can_pose(tasks[task], stores[name]) for task in run.eval_tasks)]
    pooled = [f"{name}/{subject}" for name in usable for subject in splits[name]["train"]]
    if not pooled:
        raise ValueError(f"run {run.name!r}: no dataset among {list(stores)} can pose {list(run.eval_tasks)}")
    picked = [item.split("/", 1) for item in subject_subset(pooled, min(run.subjects, len(pooled)), seed)]
    chosen = {name: sorted(subject for owner, subject in picked if owner == name) for name in usable}
    return {name: ids for name, ids in chosen.items() if ids}


def training_data(
    run: Run,
    config: dict[str, Any],
    stores: Mapping[str, SliceStore],
    splits: Mapping[str, dict[str, list[str]]],
    device: torch.device,
) -> TrainingData:
    """The pools ``run`` trains on (:func:`training_subjects`), and its unlabeled target pools if it asks for them."""
    chosen = training_subjects(run, config["tasks"], stores, splits, config["training"]["seed"])
    pools = [Pool.from_store(name, stores[name], subjects, device) for name, subjects in chosen.items()]
    subjects = next(iter(chosen.values())) if len(stores) == 1 else chosen  # one dataset: the key of before
    targets = [
        Pool.from_store(name, stores[name], splits[name]["test"], device).without_labels()
        for name in stores
        if run.target_images and splits[name]["test"]
    ]
    return TrainingData(pools, subjects, targets, device)
