"""Evaluation: the same targets and contexts for every run, nested context sizes, tidy metrics."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from neuroicl.evaluation.evaluate import evaluate, evaluation_setup, groups
from neuroicl.evaluation.metrics_table import COLUMNS
from neuroicl.models.context_mean import ContextMean
from neuroicl.plan.cases import EvalSettings
from neuroicl.tasks.setup import build
from tests.helpers.toy import toy_store

SETTINGS = EvalSettings(
    context_sizes=(1, 2, 4), repeats=2, labels={"cortex": (3, 4), "ventricle": (5, 6)},
    transfer={"T1w": "T2w", "T2w": "T1w", "PDw": "T2w", "FLAIR": "T1w"}, batch_size=5, samples=1, context_pairs=2,
)
RUN = {"run": "r", "model": "m", "variant": "Floor", "train_subjects": 4, "all_subjects": True}


@pytest.fixture
def setup(make_pool, task_config):
    train = make_pool(subjects=4)
    test = make_pool(subjects=2)
    test = replace(test, subjects=["sub-100", "sub-101"])
    return build(task_config, [train, test], "coronal")


def _floor(target_in, context_in, context_out, family, label):
    return ContextMean()(target_in, context_in, context_out)


def _identity(target_in, context_in, context_out, family, label):
    return target_in


def test_a_task_gets_the_same_inputs_whatever_else_is_evaluated(setup):
    alone = list(groups(setup, ["denoising"], SETTINGS, "toy"))
    mixed = [g for g in groups(setup, ["segmentation", "denoising"], SETTINGS, "toy") if g[1].tasks[0] == "denoising"]
    assert len(alone) == len(mixed) == 2  # one group per test subject
    for (targets_a, batch_a), (targets_b, batch_b) in zip(alone, mixed, strict=True):
        assert [t.episode.rows.tolist() for t in targets_a] == [t.episode.rows.tolist() for t in targets_b]
        for field in ("target_in", "target_out", "context_in", "context_out"):
            assert torch.equal(getattr(batch_a, field), getattr(batch_b, field))


def test_targets_come_from_the_test_split_and_contexts_from_training(setup):
    for targets, batch in groups(setup, ["segmentation", "modality_transfer"], SETTINGS, "toy"):
        for target in targets:
            assert target.episode.pools[0] == 1 and (target.episode.pools[1:] == 0).all()
            assert target.episode.context_size == SETTINGS.max_context
            assert (target.episode.inputs[:, 0] == target.episode.inputs[0, 0]).all()  # one fixed modality
            if target.case.task == "modality_transfer":
                assert target.case.target_modality == SETTINGS.transfer[target.case.modality]
        assert batch.target_out.shape[0] == len(targets)


def test_segmentation_targets_show_their_class(setup):
    for targets, batch in groups(setup, ["segmentation"], SETTINGS, "toy"):
        for i in range(len(targets)):
            assert batch.target_out[i][batch.active[i]].sum() >= SETTINGS.min_label_pixels


def test_tidy_metrics_are_complete_and_deterministic(setup):
    table, samples = evaluate(_floor, {"toy": setup}, ["segmentation", "denoising"], SETTINGS, RUN, keep_samples=True,
                              progress=False)
    again, _ = evaluate(_floor, {"toy": setup}, ["segmentation", "denoising"], SETTINGS, RUN, progress=False)
    pd.testing.assert_frame_equal(table, again)
    assert list(table.columns) == list(COLUMNS)
    seg, den = table[table.task == "segmentation"], table[table.task == "denoising"]
    # 2 subjects x (2 classes x 4 modalities) cases x 2 repeats x 3 sizes x 2 metrics
    assert len(seg) == 2 * 8 * 2 * 3 * 2 and set(seg.metric) == {"dice", "iou"}
    assert len(den) == 2 * 4 * 2 * 3 * 3 and set(den.metric) == {"psnr", "ssim", "mae"}
    assert set(table.context_size) == {1, 2, 4}
    assert set(seg.label) == {"cortex", "ventricle"}
    assert list(samples["task"]) == ["segmentation", "denoising"]
    assert samples["context_in"].shape[1] == 2 and set(samples["context_size"]) == {2}


def test_a_context_free_predictor_is_scored_once(setup):
    table, _ = evaluate(_identity, {"toy": setup}, ["denoising"], SETTINGS, RUN, context_sizes=[None], progress=False)
    assert table.context_size.isna().all()
    assert len(table) == 2 * 4 * 2 * 3
    psnr = table[table.metric == "psnr"].value
    assert np.isfinite(psnr).all() and psnr.between(5, 100).all()


def test_nested_contexts_are_prefixes_of_one_draw(setup):
    """The floor at L=1 is exactly the first context output, so the scores differ only through the extra items."""
    table, _ = evaluate(_floor, {"toy": setup}, ["denoising"], SETTINGS, RUN, progress=False)

    def first_item(target_in, context_in, context_out, family, label):
        return context_out[:, 0]

    first, _ = evaluate(first_item, {"toy": setup}, ["denoising"], SETTINGS, RUN, progress=False)
    at_one = table[table.context_size == 1].value.to_numpy()
    assert np.allclose(at_one, first[first.context_size == 1].value.to_numpy())
    assert np.allclose(at_one, first[first.context_size == 4].value.to_numpy())  # item 0 is item 0 at every L


def _nan_in(channel):
    def predict(target_in, context_in, context_out, family, label):
        out = ContextMean()(target_in, context_in, context_out).clone()
        out[-1, channel] = float("nan")
        return out
    return predict


@pytest.mark.parametrize("task", ["segmentation", "denoising"])
def test_a_non_finite_prediction_stops_evaluation_naming_the_run(setup, task):
    """A NaN would be skipped by the tables' means (image metrics) or scored as background (Dice): never silent."""
    with pytest.raises(ValueError, match=f"run 'r': non-finite predictions for 1 target.* task '{task}'"):
        evaluate(_nan_in(0), {"toy": setup}, [task], SETTINGS, RUN, progress=False)


def test_a_nan_in_an_inactive_channel_is_ignored(setup):
    table, _ = evaluate(_nan_in(2), {"toy": setup}, ["denoising"], SETTINGS, RUN, progress=False)  # channel 0 only
    assert table.value.notna().all()


@pytest.fixture
def split_setup(make_pool, task_config):
    pool = make_pool(subjects=6)
    config = {"tasks": task_config, "preprocess": {"slices": {"axis": "coronal"}}}
    splits = {"train": pool.subjects[:3], "val": pool.subjects[3:4], "test": pool.subjects[4:]}
    return config, toy_store(pool), splits


def test_the_validation_split_can_be_scored_instead_of_the_test_split(split_setup):
    config, store, splits = split_setup
    for part in ("test", "val"):
        setup = evaluation_setup(config, store, splits, "toy", part)
        assert [pool.subjects for pool in setup.sampler.pools] == [splits["train"], splits[part]]
        table, _ = evaluate(_floor, {"toy": setup}, ["segmentation"], SETTINGS, RUN, progress=False)
        assert set(table.subject) == set(splits[part])


def test_an_unknown_or_empty_part_is_an_error_naming_it(split_setup):
    config, store, splits = split_setup
    with pytest.raises(ValueError, match="evaluation part must be one of"):
        evaluation_setup(config, store, splits, "toy", "train")
    with pytest.raises(ValueError, match="dataset 'toy': the val split is empty"):
        evaluation_setup(config, store, splits | {"val": []}, "toy", "val")
