"""MVG's own outputs in the plan: the ablation's runs, the tables' rows and inputs, and clear errors."""

from __future__ import annotations

import copy

import pytest

from neuroicl.plan.experiment import Plan
from neuroicl.plan.mvg_study import ABLATION, MVGStudy, ablation_run


def test_the_ablation_trains_five_segmentation_runs_outside_the_comparison(test_config):
    plan = Plan.from_config(test_config)
    study, base = plan.mvg_study, plan.run("mvg")
    names = [run.name for run in study.ablation_runs]
    assert names == ["mvg-ablation_ar", "mvg-ablation_mim50", "mvg-ablation_mim75", "mvg-ablation_predefined",
                     "mvg-ablation_binary"]
    assert not set(names) & {run.name for run in plan.runs}  # not rows of Table 4
    assert set(names) <= set(plan.trained) and [run.name for run in plan.every_run][-5:] == names
    for run in study.ablation_runs:
        assert plan.run(run.name) == run and run.trainer == "mvg" and run.model == "mvg"
        assert run.weights == {"segmentation": base.weights["segmentation"]} and run.eval_tasks == ("segmentation",)
        assert run.max_context == 1 and run.context_sizes((1, 2)) == [1]  # one prompt, scored at L = 1 only
        assert run.steps == test_config["training"]["runs"]["mvg"]["ablation"]["steps"]
        assert run.batch_size == base.batch_size and run.groups == base.groups
    settings = {run.name: run.settings["segmentation_mask_ratio"] for run in study.ablation_runs}
    assert settings == {"mvg-ablation_ar": None, "mvg-ablation_mim50": 0.5, "mvg-ablation_mim75": 0.75,
                        "mvg-ablation_predefined": None, "mvg-ablation_binary": None}
    colours = {run.name: plan.run_config(run.name)["models"]["hyperparameters"]["mvg"]["colours"]
               for run in study.ablation_runs}
    assert colours == {"mvg-ablation_ar": "random", "mvg-ablation_mim50": "random", "mvg-ablation_mim75": "random",
                       "mvg-ablation_predefined": "predefined", "mvg-ablation_binary": "binary"}


def test_the_ablation_keeps_the_base_runs_trainer_settings_and_names_its_colours(test_config):
    test_config["training"]["runs"]["mvg"]["background_weight"] = 0.5
    test_config["models"]["hyperparameters"]["mvg"]["colours"] = "binary"  # the config's colours do not leak
    study = Plan.from_config(test_config).mvg_study
    assert all(run.settings["background_weight"] == 0.5 for run in study.ablation_runs)
    assert [run.hparams["colours"] for run in study.ablation_runs] == ["random", "random", "random", "predefined",
                                                                       "binary"]


def test_the_tables_rows_follow_table5_and_read_each_run_once(test_config):
    study = Plan.from_config(test_config).mvg_study
    rows = study.ablation_rows()
    assert [(part, setting) for part, setting, _ in rows] == [
        ("mask strategy", "AR"), ("mask strategy", "MIM 50 %"), ("mask strategy", "MIM 75 %"),
        ("colours", "random"), ("colours", "pre-defined"), ("colours", "binary"),
        ("training", "unified"), ("training", "isolated")]
    assert dict((setting, run) for _, setting, run in rows)["unified"] == "mvg"
    assert study.ablation_inputs() == [ablation_run("ar"), ablation_run("mim50"), ablation_run("mim75"),
                                       ablation_run("predefined"), ablation_run("binary"), "mvg"]
    assert study.tasks == ("segmentation", "denoising")
    assert study.task_names() == {"MVG": "mvg", "Floor": "context_mean", "Identity": "identity"}
    assert set(ABLATION) == {"ar", "mim50", "mim75", "predefined", "binary"}


def test_without_an_ablation_block_only_the_metrics_table(test_config):
    del test_config["training"]["runs"]["mvg"]["ablation"]
    plan = Plan.from_config(test_config)
    assert plan.mvg_study.tasks == ("segmentation", "denoising") and plan.mvg_study.ablation_runs == ()
    assert plan.mvg_study.ablation_rows() == [] and not any(r.name.startswith("mvg-ablation") for r in plan.every_run)


def test_without_mvg_no_outputs(test_config):
    del test_config["training"]["runs"]["mvg"]
    plan = Plan.from_config(test_config)
    assert plan.mvg_study is None and not any(run.model == "mvg" for run in plan.every_run)


def test_an_ablation_without_the_mvg_run_names_the_block(test_config):
    runs = [run for run in Plan.from_config(test_config).runs if run.name != "mvg"]
    with pytest.raises(ValueError, match="training.runs.mvg.ablation compares with run 'mvg'"):
        MVGStudy.of(test_config, runs)


@pytest.mark.parametrize(("change", "message"), [
    (lambda c: c["training"]["runs"]["mvg"].update(tasks=["denoising"]), "add it to training.runs.mvg.tasks"),
    (lambda c: c["tasks"]["weights"].update(segmentation=0.0), "add it to training.runs.mvg.tasks"),
    (lambda c: c["evaluation"].update(context_sizes=[2, 4]), "add 1 to evaluation.context_sizes"),
])
def test_an_ablation_without_segmentation_or_one_prompt_says_which_key(test_config, change, message):
    config = copy.deepcopy(test_config)
    change(config)
    with pytest.raises(ValueError, match=message):
        Plan.from_config(config)
