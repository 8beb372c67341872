"""ISTN's study plan: parsed from the istn block, errors naming the key, names and paths, subjects per role."""

from __future__ import annotations

import copy

import pytest
import yaml

from neuroicl.plan.experiment import Plan
from neuroicl.plan.istn_study import ISTNStudy, Variant, pair_name


@pytest.fixture(scope="module")
def default_config(root):
    return yaml.safe_load((root / "config" / "config.yaml").read_text())


def _study(config):
    plan = Plan.from_config(config)
    return ISTNStudy.of(config, plan.datasets, plan.cohort)


def test_the_default_config_plans_one_pair_and_both_inits(default_config):
    study = _study(default_config)
    assert study.pair_names() == ["siteA-siteC"] and study.tasks == ("segmentation",)
    assert study.variant_names() == ["itn-affine_uni_scratch", "itn-affine_uni_finetune"]
    assert study.adaptations() == ["itn-affine_uni"] and study.inits() == ["scratch", "finetune"]
    assert study.labels == {"cortex": (3, 4), "lateral_ventricle": (5, 6)}
    assert study.adapted_model("segmentation", "siteA-siteC", "itn-affine_uni", "finetune") == \
        "results/train/istn/embedded/segmentation/siteA-siteC/itn-affine_uni/finetune.pt"
    assert study.source_model("segmentation", "siteA") == \
        "results/train/istn/embedded/segmentation/siteA/source/model.pt"
    assert study.scores("segmentation", "siteA-siteC") == \
        "results/evaluate/istn/embedded/segmentation/siteA-siteC/scores.csv"


def test_no_block_no_study(default_config):
    config = copy.deepcopy(default_config)
    del config["istn"]
    assert _study(config) is None


def test_the_study_round_trips_through_plain_values(default_config):
    study = _study(default_config)
    assert study.slices is None
    assert ISTNStudy.from_dict(yaml.safe_load(yaml.safe_dump(study.to_dict()))) == study
    config = copy.deepcopy(default_config)
    config["istn"]["slices"] = [20, 30]
    study = _study(config)
    assert study.slices == (20, 30)
    assert ISTNStudy.from_dict(yaml.safe_load(yaml.safe_dump(study.to_dict()))) == study


@pytest.mark.parametrize("name", ["itn_uni_scratch", "itn-bspline_bi_finetune", "affine_uni_finetune"])
def test_variant_names_round_trip(name):
    assert Variant.from_name(name).name == name


def test_the_modes_are_the_models(default_config):
    pytest.importorskip("torch")
    from neuroicl.models.istn import MODES as MODEL_MODES
    from neuroicl.plan.istn_study import MODES

    assert MODES == MODEL_MODES


@pytest.mark.parametrize(("key", "value", "message"), [
    ("dataset", "ixi", "istn.dataset"),
    ("modalities", ["T1w", "CT"], "istn.modalities"),
    ("labels", ["cortex", "amygdala"], "istn.labels"),
    ("labels", [], "istn.labels"),
    ("pairs", [["siteA", "siteZ"]], "istn.pairs"),
    ("pairs", [["siteA", "siteA"]], "istn.pairs"),
    ("modes", ["itn", "itn"], "must not repeat"),
    ("slices", [30, 20], "istn.slices"),
])
def test_bad_values_are_errors_naming_the_key(default_config, key, value, message):
    config = copy.deepcopy(default_config)
    config["istn"][key] = value
    with pytest.raises(ValueError, match=message):
        _study(config)


def test_subjects_per_role(default_config):
    study = _study(default_config)
    splits = {"train": ["b", "a"], "val": ["c"], "test": ["d"]}
    assert study.subjects(splits, "train") == ["a", "b"] and study.subjects(splits, "selection") == ["c"]
    assert study.subjects(splits, "target") == ["a", "b", "c", "d"] == study.subjects(splits, "scored")
    assert study.subjects(splits, "figure") == ["d", "c", "a", "b"]
    inductive = ISTNStudy.from_dict({**study.to_dict(), "transductive": False})
    assert inductive.subjects(splits, "target") == ["a", "b"] and inductive.subjects(splits, "scored") == ["d"]
    with pytest.raises(ValueError, match="role"):
        study.subjects(splits, "everything")


def test_a_pair_name_is_source_dash_target(default_config):
    study = _study(default_config)
    assert pair_name("siteA", "siteC") == "siteA-siteC" and study.pair("siteA-siteC") == ("siteA", "siteC")
    with pytest.raises(ValueError, match="not an ISTN pair"):
        study.pair("siteC-siteA")
