"""The run catalogue: names, held-out tasks and variants, subject counts capped by the split."""

from __future__ import annotations

import copy

import pytest
import yaml

from neuroicl.plan.families import outputs_image
from neuroicl.plan.runs import by_name, catalogue, subject_counts


@pytest.fixture(scope="module")
def config(root) -> dict:
    """The default config with every evaluated task held out in turn and U-Nets on 1, 2 and all subjects."""
    config = yaml.safe_load((root / "config" / "config.yaml").read_text())
    config["training"]["runs"]["neuralizer_unseen"]["tasks"] = list(config["tasks"]["evaluated"])
    config["training"]["runs"]["unet"]["subjects"] = [1, 2, "all"]
    return config


def test_subject_counts_are_capped_by_the_split():
    assert subject_counts([1, 2, 4, 8, 16, 32, "all"], 6) == [1, 2, 4, 6]
    assert subject_counts([1, "all"], 1) == [1]
    assert subject_counts([2, 64], 40) == [2, 40]


def test_catalogue_names_every_kind_of_run(config):
    config = copy.deepcopy(config)
    config["training"]["runs"]["unet"]["subjects"] = [1, 2, 4, 8, 16, 32, "all"]  # the paper's list
    runs = catalogue(config, n_train=6)
    names = [run.name for run in runs]
    assert names[0] == "neuralizer-seen"
    evaluated = config["tasks"]["evaluated"]
    assert {f"neuralizer-unseen-{t}" for t in evaluated} <= set(names)
    assert {"unet-segmentation-n1", "unet-segmentation-n4", "unet-segmentation-all"} <= set(names)
    assert "unet-segmentation-n8" not in names  # capped: 6 training subjects
    assert {"universeg-segmentation", "universeg-skull_stripping", "context_mean", "identity"} <= set(names)


def test_unseen_run_drops_the_task_and_its_variants(config):
    runs = catalogue(config, n_train=6)
    seen = by_name(runs, "neuralizer-seen")
    unseen = by_name(runs, "neuralizer-unseen-modality_transfer")
    assert "modality_transfer" in seen.weights and "synthetic_transfer" in seen.weights
    assert "modality_transfer" not in unseen.weights and "synthetic_transfer" not in unseen.weights
    assert unseen.omit == ("synthetic_modality",)
    assert unseen.eval_tasks == ("modality_transfer",)
    assert set(unseen.weights) == set(seen.weights) - {"modality_transfer", "synthetic_transfer"}


def test_task_specific_runs(config):
    runs = catalogue(config, n_train=6)
    unet = by_name(runs, "unet-segmentation-n2")
    assert unet.subjects == 2 and unet.per_label and not unet.in_context and unet.uses_cases
    assert by_name(runs, "unet-denoising-all").subjects is None
    assert not by_name(runs, "unet-denoising-all").per_label
    floor = by_name(runs, "context_mean")
    assert not floor.trained and floor.in_context
    identity = by_name(runs, "identity")
    assert set(identity.eval_tasks) == {t for t in config["tasks"]["evaluated"] if outputs_image(t)}
    assert identity.eval_tasks == ("modality_transfer", "super_resolution", "motion", "undersampling", "denoising",
                                   "inpainting") and not identity.in_context


def test_unknown_run_lists_the_valid_ones(config):
    with pytest.raises(ValueError, match="runs of this config"):
        by_name(catalogue(config, n_train=6), "neuralizer-typo")


def test_a_bad_run_name_is_rejected(config):
    bad = copy.deepcopy(config)
    bad["training"]["runs"]["unet"]["tasks"] = ["Segmentation"]
    with pytest.raises(ValueError, match="not valid wildcard values"):
        catalogue(bad, n_train=6)


def test_a_run_survives_the_trip_through_snakemake_params(config):
    for run in catalogue(config, n_train=6):
        plain = run.to_dict()
        assert all(not isinstance(v, tuple) for v in plain.values())
        assert type(run).from_dict(plain) == run


def test_the_u_net_on_all_subjects_takes_its_own_width(config):
    config = copy.deepcopy(config)
    config["training"]["runs"]["unet"]["all_hyperparameters"] = {"channels": 256}
    runs = catalogue(config, n_train=6)
    assert by_name(runs, "unet-denoising-all").hparams == {"channels": 256}
    assert by_name(runs, "unet-denoising-n1").hparams == {}


def test_the_u_net_on_all_subjects_takes_its_own_steps(config):
    config = copy.deepcopy(config)
    block = config["training"]["runs"]["unet"]
    block.pop("all_steps", None)
    assert by_name(catalogue(config, n_train=6), "unet-denoising-all").steps == block["steps"]
    block["all_steps"] = 2 * block["steps"]
    runs = catalogue(config, n_train=6)
    assert by_name(runs, "unet-denoising-all").steps == 2 * block["steps"]
    assert by_name(runs, "unet-denoising-n1").steps == block["steps"]


def test_the_u_net_on_all_subjects_takes_a_task_s_own_steps(config):
    config = copy.deepcopy(config)
    block = config["training"]["runs"]["unet"]
    block["all_steps"], block["all_task_steps"] = 7, {"denoising": 11}
    runs = catalogue(config, n_train=6)
    assert by_name(runs, "unet-denoising-all").steps == 11
    assert by_name(runs, "unet-inpainting-all").steps == 7
    assert by_name(runs, "unet-denoising-n1").steps == block["steps"]
    block["tasks"] = ["inpainting"]  # a task named but not run: unused
    assert by_name(catalogue(config, n_train=6), "unet-inpainting-all").steps == 7


def test_the_paper_config_trains_the_u_net_on_all_data_256_channels_wide(root):
    """Supplement H: the U-Net baseline on all data has 256 channels, and every task as many steps (the demo's
    longer two undone); MetaSeg meta-learns without the demo's shared start (keys the overlay must undo)."""
    from snakemake.utils import update_config

    from neuroicl.plan.experiment import Plan

    config = yaml.safe_load((root / "config" / "config.yaml").read_text())
    update_config(config, yaml.safe_load((root / "config" / "paper.yaml").read_text()))
    plan = Plan.from_config(config)
    assert plan.run_config("unet-segmentation-all")["models"]["hyperparameters"]["unet"]["channels"] == 256
    assert plan.run_config("unet-segmentation-n1")["models"]["hyperparameters"]["unet"]["channels"] == 64
    assert config["training"]["loss_weights"]["reconstruction"] == config["training"]["loss_weights"]["transfer"] == 10
    tasks = ("modality_transfer", "undersampling", "denoising")
    assert {plan.run(f"unet-{task}-all").steps for task in tasks} == {20000}
    assert plan.run("metaseg-segmentation-all").settings["pretrain_steps"] == 0  # the paper's method, not the demo's


def test_the_released_weights_are_an_optional_run_with_a_model_file_and_no_training(config, root):
    assert "neuralizer-released" not in [run.name for run in catalogue(config, n_train=6)]  # the demo: none
    config = copy.deepcopy(config)
    config["training"]["runs"]["neuralizer_released"] = {"entry": "neuralizer_weights", "ignore_keys": ["loss.x"]}
    runs = catalogue(config, n_train=6)
    released = by_name(runs, "neuralizer-released")
    seen = by_name(runs, "neuralizer-seen")
    assert [run.name for run in runs].index("neuralizer-released") == 1 + max(
        i for i, run in enumerate(runs) if run.name.startswith("neuralizer-unseen"))
    assert (released.model, released.variant, released.weights_from) == ("neuralizer", "Neuralizer (released)",
                                                                         "neuralizer_weights")
    assert released.eval_tasks == seen.eval_tasks and released.in_context and released.max_context is None
    assert not released.trained and released.has_model_file and seen.has_model_file
    assert released.settings == {"ignore_keys": ["loss.x"]}
    assert not by_name(runs, "context_mean").has_model_file
