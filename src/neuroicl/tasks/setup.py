"""Build the tasks, the augmentation tree and the episode sampler from the ``tasks`` config block."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neuroicl.plan.slicing import axis_index
from neuroicl.tasks.augment import AugmentationTree
from neuroicl.tasks.base import Task
from neuroicl.tasks.catalog import build_tasks
from neuroicl.tasks.episodes import ContextSettings, EpisodeSampler
from neuroicl.tasks.ops.spatial import LEFT_RIGHT_DIM
from neuroicl.tasks.pool import Pool


def flip_dim(slice_axis: str) -> int | None:
    """The image axis of a slice that runs left–right: H (2) for coronal and axial slices, none for sagittal.

    Slices are ``[H, W]`` along the two remaining RAS axes in order (:mod:`neuroicl.plan.slicing`),
    so x (left–right) is H whenever it remains.
    """
    return None if axis_index(slice_axis) == 0 else LEFT_RIGHT_DIM


@dataclass(frozen=True)
class TaskSetup:
    """Everything task synthesis needs."""

    tasks: dict[str, Task]
    tree: AugmentationTree
    sampler: EpisodeSampler
    flip_dim: int | None


def build(
    config: dict[str, Any], pools: list[Pool], slice_axis: str, weights: dict[str, float] | None = None
) -> TaskSetup:
    """From ``config`` (the ``tasks`` block); ``weights`` override ``tasks.weights`` (e.g. a held-out task at 0).

    Without a left–right image axis (sagittal slices), ``random_flip`` is omitted for every task.
    """
    tasks = build_tasks(config["settings"])
    tree = AugmentationTree.from_config(config["augmentations"])
    context = config["context"]
    settings = ContextSettings(tuple(context["size"]), int(context["slice_window"]), tuple(context["dataset_mix"]))
    dim = flip_dim(slice_axis)
    omit = {name: list(config["omit"].get(name, [])) + ([] if dim is not None else ["random_flip"]) for name in tasks}
    sampler = EpisodeSampler(pools, tasks, weights or config["weights"], settings, tree, omit)
    return TaskSetup(tasks, tree, sampler, dim)
