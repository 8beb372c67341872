"""ISTN's scores: T_S on the source test split and the target, adapted models on the target (images untouched)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuroicl.data.domains import domain_images, labelled_domain
from neuroicl.evaluation.istn_study import CHANCE, SOURCE, chance_scores, pair_scores, transform_examples
from neuroicl.models.istn import ISTN
from neuroicl.models.istn_file import ISTNModel, istn_config
from neuroicl.models.istn_tasks import build_task_model
from tests.helpers.istn import two_site_data
from tests.models.test_istn_tasks import HPARAMS

LABELS = {"cortex": (3, 4)}


def _model(mode=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    task = build_task_model("segmentation", 1, 1, HPARAMS, g).eval()
    istn = None if mode is None else ISTN(istn_config(mode, 1, 16, HPARAMS), generator=g).eval()
    return ISTNModel("segmentation", 1, 1, HPARAMS, 16, task, mode=mode, istn=istn, label_sites=["siteA"])


@pytest.fixture(scope="module")
def domains():
    store, participants, splits = two_site_data()
    ceiling = labelled_domain(store, participants, "siteA", splits["test"], ["T1w"], "segmentation", LABELS)
    target = labelled_domain(store, participants, "siteB", sum(splits.values(), []), ["T1w"], "segmentation", LABELS)
    return ceiling, target


def test_the_source_model_is_scored_on_both_domains_and_adapted_ones_on_the_target(domains):
    ceiling, target = domains
    before = target.images.copy()
    table = pair_scores("segmentation", ceiling, target, {SOURCE: _model(), "itn_uni_scratch": _model("itn", 1)})
    rows = table.groupby(["model", "domain"]).size().to_dict()
    assert rows == {(SOURCE, "source"): len(set(ceiling.subjects)), (SOURCE, "target"): len(set(target.subjects)),
                    ("itn_uni_scratch", "target"): len(set(target.subjects))}
    assert set(table["metric"]) == {"dice"} and table["value"].between(0, 1).all()
    assert (table["label_sites"] == "siteA").all()
    assert np.array_equal(target.images, before)  # target images are never modified


def test_scores_need_the_source_model_and_one_task(domains):
    ceiling, target = domains
    with pytest.raises(ValueError, match="needs T_S"):
        pair_scores("segmentation", ceiling, target, {"itn_uni_scratch": _model("itn")})
    with pytest.raises(ValueError, match="trained for 'segmentation'"):
        pair_scores("age", ceiling, target, {SOURCE: _model()})


def test_chance_gives_every_subject_the_training_majority_or_mean():
    store, participants, splits = two_site_data()
    subjects = sum(splits.values(), [])
    for task in ("sex", "age"):
        domain = labelled_domain(store, participants, "siteB", subjects, ["T1w"], task)
        table = chance_scores(task, {"a": 1.0, "b": 1.0, "c": 0.0} if task == "sex" else {"a": 20.0, "b": 40.0},
                              domain, "target", "siteA")
        assert (table["label_sites"] == "siteA").all()
        assert list(table["subject"]) == sorted(set(domain.subjects)) and (table["model"] == CHANCE).all()
        truth = {s: float(y) for s, y in zip(domain.subjects, domain.labels, strict=True)}
        expected = [float(truth[s] == 1.0) if task == "sex" else abs(truth[s] - 30.0) for s in table["subject"]]
        assert table["value"].tolist() == pytest.approx(expected)
    with pytest.raises(ValueError, match="covariate"):
        chance_scores("segmentation", {"a": 1.0}, domain, "target", "siteA")
    with pytest.raises(ValueError, match="no source training subject"):
        chance_scores("age", {}, domain, "target", "siteA")


def test_transform_examples_show_each_stage():
    store, _, splits = two_site_data()
    domain = domain_images(store, "siteA", sum(splits.values(), []), ["T1w"])
    examples = transform_examples({"itn+affine": _model("itn+affine")}, domain, 2, order=["sub-002", "sub-000"])
    shown = examples["itn+affine"]
    assert shown["subjects"] == ["sub-002", "sub-000"]
    assert shown["source"].shape == shown["itn"].shape == shown["s2t"].shape == (2, 1, 16, 16)
    assert shown["displacement"].shape == (2, 2, 16, 16)
    np.testing.assert_allclose(shown["itn"], shown["source"], atol=1e-5)  # identity at initialisation
    assert np.abs(shown["displacement"]).max() < 1e-5
    with pytest.raises(ValueError, match="no ISTN"):
        transform_examples({"itn": _model()}, domain, 1)
