"""MetaSeg's study in the plan: its ablation runs, what it reads, and clear errors."""

from __future__ import annotations

import copy

import pytest

from neuroicl.plan.experiment import Plan
from neuroicl.plan.study import ABLATION_NAMES, MetaSegStudy


def test_the_study_trains_three_ablation_runs_outside_the_comparison(test_config):
    plan = Plan.from_config(test_config)
    study = plan.study
    assert isinstance(study, MetaSegStudy) and study.labels == ("cortex",)
    names = [run.name for run in study.ablation_runs]
    assert names == ["metaseg-ablation_random", "metaseg-ablation_fixed", "metaseg-ablation_image_only"]
    assert not set(names) & {run.name for run in plan.runs}  # not rows of Table 4
    assert set(names) <= set(plan.trained) and set(names) <= set(plan.long_runs)
    base = plan.run(study.studied)
    start = {"start_from": "results/train/metaseg-segmentation-all/model.pt"}  # the row's shared start
    variants = ({"init": "random"}, {"init": "fixed"}, {"image_only": True, **start})
    for run, settings in zip(study.ablation_runs, variants, strict=True):
        assert plan.run(run.name) == run and run.trainer == "metaseg" and run.steps == base.steps
        assert run.settings == {**base.settings, **settings, "labels": ["cortex"]}
    assert list(study.ablation_names().values()) == [*names, study.studied]
    assert list(study.ablation_names())[-1] == ABLATION_NAMES["metaseg"]


def test_without_a_shared_start_image_only_meta_learns_from_the_siren_initialisation(test_config):
    config = copy.deepcopy(test_config)
    config["training"]["runs"]["metaseg"]["pretrain_steps"] = 0
    runs = Plan.from_config(config).study.ablation_runs
    assert not any("start_from" in run.settings for run in runs)


def test_no_study_block_no_study(test_config):
    config = copy.deepcopy(test_config)
    del config["training"]["runs"]["metaseg"]["study"]
    plan = Plan.from_config(config)
    assert plan.study is None and plan.every_run == [*plan.runs, *plan.mvg_study.ablation_runs]  # MVG's own


@pytest.mark.parametrize(("change", "message"), [
    (lambda c: c["training"]["runs"]["metaseg"].update(subjects=[1]), "metaseg-segmentation-all"),
    (lambda c: c["training"]["runs"]["unet"].update(tasks=["denoising"]), "unet-segmentation-all"),
    (lambda c: c["training"]["runs"]["metaseg"]["study"].update(labels=["nope"]), "study.labels"),
])
def test_a_study_without_its_runs_or_classes_says_which_key(test_config, change, message):
    config = copy.deepcopy(test_config)
    change(config)
    with pytest.raises(ValueError, match=message):
        Plan.from_config(config)
