"""MetaSeg's trainer: one network per class, both stages, determinism, resumption, its settings."""

from __future__ import annotations

import copy

import pytest
import torch

from neuroicl.models.metaseg import MetaSeg
from neuroicl.models.model_file import save_networks
from neuroicl.plan.runs import by_name, catalogue
from neuroicl.training.data import TrainingData
from neuroicl.training.metaseg import MetaSegSettings, train_metaseg

BLOCK = {"tasks": ["segmentation"], "subjects": ["all"], "steps": 4, "batch_size": 2, "augmentations": [],
         "inner_steps": 1, "order": "first", "pixels": 64, "gamma": 2.0, "outer_lr": 1e-3, "head_steps": 3,
         "head_lr": 1e-3, "head_images": 2}


@pytest.fixture
def metaseg_config(test_config):
    config = copy.deepcopy(test_config)
    config["training"]["runs"]["metaseg"] = dict(BLOCK)
    config["training"]["checkpoint_every"] = 2
    config["training"]["log_every"] = 2
    config["models"]["hyperparameters"]["metaseg"] = {"width": 8, "hidden": 1, "steps": 2, "lr": 1e-3}
    return config


def _train(config, pool, tmp_path, **settings):
    run = by_name(catalogue(config, n_train=4), "metaseg-segmentation-all")
    run = type(run).from_dict({**run.to_dict(), "settings": {**run.settings, **settings}})
    data = TrainingData([pool], ["s"], [], torch.device("cpu"))
    return train_metaseg(run, config, data, tmp_path, progress=False)[:2]


def test_the_catalogue_lists_metaseg_runs_only_when_configured(metaseg_config, test_config):
    without = copy.deepcopy(test_config)
    del without["training"]["runs"]["metaseg"]
    assert not [r for r in catalogue(without, n_train=4) if r.model == "metaseg"]
    run = by_name(catalogue(metaseg_config, n_train=4), "metaseg-segmentation-all")
    assert run.trainer == "metaseg" and run.per_label and not run.in_context and run.uses_cases
    assert run.settings["order"] == "first" and "steps" not in run.settings


def test_one_network_per_class_after_both_stages(metaseg_config, make_pool, tmp_path):
    networks, rows = _train(metaseg_config, make_pool(subjects=4, slices=5, size=16), tmp_path)
    assert sorted(networks) == sorted(metaseg_config["evaluation"]["labels"])
    assert all(isinstance(net, MetaSeg) and net.config.classes == 2 for net in networks.values())
    stages = {(row["label"], row["stage"]) for row in rows}
    assert stages == {(label, stage) for label in networks for stage in ("meta", "head")}
    fresh = MetaSeg(networks["cortex"].config, generator=torch.Generator().manual_seed(0))
    assert not all(torch.equal(a, b) for a, b in zip(fresh.parameters(), networks["cortex"].parameters(), strict=True))


def test_the_study_labels_restrict_the_networks(metaseg_config, make_pool, tmp_path):
    networks, _ = _train(metaseg_config, make_pool(subjects=4, slices=5, size=16), tmp_path, labels=["cortex"])
    assert list(networks) == ["cortex"]
    with pytest.raises(ValueError, match="not evaluation.labels"):
        _train(metaseg_config, make_pool(subjects=4, slices=5, size=16), tmp_path, labels=["nope"])


def test_same_seed_same_networks_and_a_rerun_resumes(metaseg_config, make_pool, tmp_path):
    pool = make_pool(subjects=4, slices=5, size=16)
    first, _ = _train(metaseg_config, pool, tmp_path / "a")
    again, _ = _train(metaseg_config, pool, tmp_path / "b")
    resumed, _ = _train(metaseg_config, pool, tmp_path / "a")  # stage 1 from its last checkpoint
    for label in first:
        for net in (again, resumed):
            assert all(torch.equal(x, y) for x, y in zip(first[label].parameters(), net[label].parameters(),
                                                         strict=True))


@pytest.mark.parametrize("init", ["random", "fixed"])
def test_the_ablation_initialisations_train(metaseg_config, make_pool, tmp_path, init):
    networks, rows = _train(metaseg_config, make_pool(subjects=4, slices=5, size=16), tmp_path, init=init)
    assert {row["stage"] for row in rows} >= {"head"}


def test_unknown_settings_name_the_valid_ones(metaseg_config):
    run = by_name(catalogue(metaseg_config, n_train=4), "metaseg-segmentation-all")
    bad = type(run).from_dict({**run.to_dict(), "settings": {"inner": 2}})
    with pytest.raises(ValueError, match="unknown MetaSeg settings.*inner_steps"):
        MetaSegSettings.of(bad)
    with pytest.raises(ValueError, match="init"):
        MetaSegSettings(init="other")


def test_head_pixels_draw_a_minibatch_and_none_takes_every_pixel(metaseg_config, make_pool, tmp_path):
    """The head trains on ``head_pixels`` drawn pixels per step (deterministic), or on all of them."""
    pool = make_pool(subjects=4, slices=5, size=16)
    drawn, _ = _train(metaseg_config, pool, tmp_path / "a", head_pixels=32)
    again, _ = _train(metaseg_config, pool, tmp_path / "b", head_pixels=32)
    every, _ = _train(metaseg_config, pool, tmp_path / "c", head_pixels=None)
    head = [k for k, _ in drawn["cortex"].named_parameters() if "head" in k]
    params = [dict(net["cortex"].named_parameters()) for net in (drawn, again, every)]
    assert all(torch.equal(params[0][k], params[1][k]) for k in head)
    assert not all(torch.equal(params[0][k], params[2][k]) for k in head)
    with pytest.raises(ValueError, match="head_pixels"):
        MetaSegSettings(head_pixels=0)
    with pytest.raises(ValueError, match="outer_pixels"):
        MetaSegSettings(outer_pixels=0)


def test_pretraining_is_shared_image_only_and_keyed(metaseg_config, make_pool, tmp_path):
    """``pretrain_steps``: one image-only meta-learning before the classes' own; the image-only ablation
    trains as many outer steps in all, and the setting changes the networks."""
    pool = make_pool(subjects=4, slices=5, size=16)
    plain, _ = _train(metaseg_config, pool, tmp_path / "a")
    pretrained, rows = _train(metaseg_config, pool, tmp_path / "b", pretrain_steps=4)
    pretrain = [row for row in rows if row["label"] == "pretrain"]
    assert [row["step"] for row in pretrain] == [2, 4] and {row["stage"] for row in pretrain} == {"meta"}
    assert sorted(pretrained) == sorted(plain)
    assert not all(torch.equal(a, b) for a, b in zip(plain["cortex"].parameters(), pretrained["cortex"].parameters(),
                                                      strict=True))
    resumed, _ = _train(metaseg_config, pool, tmp_path / "b", pretrain_steps=4)  # both stages 1 from checkpoints
    assert all(torch.equal(a, b) for a, b in zip(pretrained["cortex"].parameters(), resumed["cortex"].parameters(),
                                                  strict=True))
    _, image_rows = _train(metaseg_config, pool, tmp_path / "c", pretrain_steps=4, image_only=True, labels=["cortex"])
    assert "pretrain" not in {row["label"] for row in image_rows}
    assert max(row["step"] for row in image_rows if row["stage"] == "meta") == 4 + BLOCK["steps"]
    with pytest.raises(ValueError, match="pretrain_steps"):
        MetaSegSettings(pretrain_steps=-1)


def test_every_class_starts_from_the_shared_inr(metaseg_config, make_pool, tmp_path):
    """At a vanishing outer learning rate the INRs stay where they start: every class's at the shared start
    (not at its own initialisation, which differs per class); the heads are their own."""
    run = by_name(catalogue(metaseg_config, n_train=4), "metaseg-segmentation-all")
    run = type(run).from_dict({**run.to_dict(), "steps": 1,
                               "settings": {**run.settings, "pretrain_steps": 4, "outer_lr": 1e-12}})
    data = TrainingData([make_pool(subjects=4, slices=5, size=16)], ["s"], [], torch.device("cpu"))
    networks, _, extras = train_metaseg(run, metaseg_config, data, tmp_path, progress=False)
    first, *others = (dict(net.named_parameters()) for net in networks.values())
    inr = [k for k in first if "inr" in k]
    assert inr and all(torch.allclose(first[k], other[k], rtol=0, atol=1e-9) for other in others for k in inr)
    assert not all(torch.equal(first[k], others[0][k]) for k in first if "head" in k)
    start = extras["start"]  # what the model file keeps: the shared start
    first = networks["cortex"].params()
    assert sorted(start) == sorted(k for k in first if k.startswith("inr."))
    assert all(torch.allclose(first[k], value, rtol=0, atol=1e-9) for k, value in start.items())


def test_start_from_continues_from_another_runs_shared_start(metaseg_config, make_pool, tmp_path):
    """The study's image-only ablation: its INR begins at MetaSeg's shared start (read from MetaSeg's model file)
    and trains MetaSeg's own steps, image only; a model file without a start is refused by name."""
    catalogue_run = by_name(catalogue(metaseg_config, n_train=4), "metaseg-segmentation-all")
    data = TrainingData([make_pool(subjects=4, slices=5, size=16)], ["s"], [], torch.device("cpu"))
    row = type(catalogue_run).from_dict({**catalogue_run.to_dict(),
                                         "settings": {**catalogue_run.settings, "pretrain_steps": 4}})
    networks, _, extras = train_metaseg(row, metaseg_config, data, tmp_path / "row", progress=False)
    hparams = metaseg_config["models"]["hyperparameters"]["metaseg"]
    save_networks(tmp_path / "row.pt", row.name, "metaseg", hparams, networks, extras=extras)
    settings = {**row.settings, "image_only": True, "labels": ["cortex"], "outer_lr": 1e-12,
                "start_from": str(tmp_path / "row.pt")}
    image_run = type(row).from_dict({**row.to_dict(), "name": "metaseg-ablation_image_only", "settings": settings})
    image, rows, image_extras = train_metaseg(image_run, metaseg_config, data, tmp_path / "image", progress=False)
    assert image_extras == {} and "pretrain" not in {row["label"] for row in rows}
    assert max(r["step"] for r in rows if r["stage"] == "meta") == row.steps  # its own steps, as MetaSeg's
    weights = image["cortex"].params()
    assert all(torch.allclose(weights[k], value, rtol=0, atol=1e-9) for k, value in extras["start"].items())
    save_networks(tmp_path / "plain.pt", row.name, "metaseg", hparams, networks)
    settings = {**settings, "start_from": str(tmp_path / "plain.pt")}
    plain = type(row).from_dict({**image_run.to_dict(), "settings": settings})
    with pytest.raises(ValueError, match="plain.pt holds no MetaSeg shared start"):
        train_metaseg(plain, metaseg_config, data, tmp_path / "plain", progress=False)
    with pytest.raises(ValueError, match="own keys"):
        save_networks(tmp_path / "clash.pt", row.name, "metaseg", hparams, networks, extras={"run": "x"})
