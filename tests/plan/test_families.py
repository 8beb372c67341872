"""Task families: one owner for each task's family, its objective, its metrics and its primary metric."""

from __future__ import annotations

import pytest

from neuroicl.models.losses import TASK_FAMILIES
from neuroicl.plan.families import FAMILIES, MASK_FAMILIES, METRICS, PRIMARY, TASK_FAMILY, family_of, outputs_image
from neuroicl.tasks.base import TASKS
from neuroicl.tasks.catalog import build_tasks


def test_every_registered_task_takes_its_family_from_the_table():
    tasks = build_tasks()
    assert set(tasks) == set(TASK_FAMILY)
    assert all(task.family == TASK_FAMILY[name] for name, task in tasks.items())
    assert set(TASKS) == set(TASK_FAMILY)


def test_every_family_has_an_objective_and_metrics_in_one_order():
    assert tuple(TASK_FAMILIES) == FAMILIES == tuple(METRICS) == tuple(PRIMARY)
    assert {TASK_FAMILIES[f].loss for f in MASK_FAMILIES} == {"soft_dice"}
    assert {TASK_FAMILIES[f].loss for f in FAMILIES if f not in MASK_FAMILIES} == {"mse"}
    assert PRIMARY == {"segmentation": "dice", "skull_strip": "dice", "reconstruction": "psnr", "transfer": "psnr"}


def test_image_tasks_are_those_outside_the_mask_families():
    assert not outputs_image("segmentation") and not outputs_image("skull_stripping")
    assert outputs_image("masking") and outputs_image("modality_transfer") and outputs_image("inpainting")


def test_an_unknown_task_names_the_table_to_extend():
    with pytest.raises(ValueError, match="bias_field.*TASK_FAMILY"):
        family_of("bias_field")
