"""Evaluation over several datasets: every dataset's test subjects, contexts from its own training split,
its own modalities, segmentation only where it has labels."""

from __future__ import annotations

from dataclasses import replace

import pytest

from neuroicl.evaluation.evaluate import evaluate, groups
from neuroicl.models.context_mean import ContextMean
from neuroicl.plan.cases import EvalSettings
from neuroicl.tasks.setup import build

SETTINGS = EvalSettings(
    context_sizes=(1, 2), repeats=1, labels={"cortex": (3, 4)}, transfer={"T1w": "T2w", "T2w": "T1w"},
    batch_size=4, samples=1, context_pairs=1,
)
RUN = {"run": "r", "model": "m", "variant": "Floor", "train_subjects": 6, "all_subjects": True}
TASKS = ["segmentation", "modality_transfer", "denoising"]


def _floor(target_in, context_in, context_out, family, label):
    return ContextMean()(target_in, context_in, context_out)


def _one_modality(pool):
    return replace(pool, images=pool.images[:, :1], available=pool.available[:, :1], modalities=pool.modalities[:1])


@pytest.fixture
def setups(make_pool, task_config):
    """'seg': labelled, four modalities; 'plain': unlabelled, T1w only (as OASIS-1 and IXI differ)."""
    seg_train, seg_test = make_pool(name="seg", subjects=3), make_pool(name="seg", subjects=2)
    plain_train = _one_modality(make_pool(name="plain", labels=False, subjects=3))
    plain_test = _one_modality(make_pool(name="plain", labels=False, subjects=1))
    return {
        "seg": build(task_config, [seg_train, replace(seg_test, subjects=["sub-100", "sub-101"])], "coronal"),
        "plain": build(task_config, [plain_train, replace(plain_test, subjects=["sub-200"])], "coronal"),
    }


def test_every_dataset_is_scored_on_the_tasks_it_can_pose(setups):
    table, samples = evaluate(_floor, setups, TASKS, SETTINGS, RUN, keep_samples=True, progress=False)
    assert set(table.dataset) == {"seg", "plain"}
    assert set(table[table.dataset == "plain"].task) == {"denoising"}  # no labels, one modality
    assert set(table[table.dataset == "seg"].task) == set(TASKS)
    assert set(table[table.dataset == "plain"].subject) == {"sub-200"}
    assert set(table[table.dataset == "plain"].modality) == {"T1w"}  # its own modalities only
    assert set(table[table.dataset == "seg"].modality) == {"T1w", "T2w", "PDw", "FLAIR"}
    assert list(samples["task"]) == TASKS  # one sample per task over all datasets


def test_contexts_come_from_the_training_split_of_the_target_s_dataset(setups):
    for name, setup in setups.items():
        for targets, _ in groups(setup, TASKS, SETTINGS, name):
            for target in targets:
                assert target.episode.pools[0] == 1 and (target.episode.pools[1:] == 0).all()


def test_a_dataset_alone_scores_as_it_does_beside_another(setups):
    both, _ = evaluate(_floor, setups, TASKS, SETTINGS, RUN, progress=False)
    alone, _ = evaluate(_floor, {"plain": setups["plain"]}, TASKS, SETTINGS, RUN, progress=False)
    plain = both[both.dataset == "plain"].reset_index(drop=True)
    assert plain.equals(alone)
