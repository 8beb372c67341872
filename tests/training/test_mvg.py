"""MVG's trainer: canvases of one prompt pair, coloured masks, masked loss, resumable and deterministic training."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from neuroicl.models.mvg import MVG
from neuroicl.models.mvg_masks import colourise
from neuroicl.plan.runs import by_name, catalogue
from neuroicl.training.data import TrainingData
from neuroicl.training.episodic import synthesizer, task_setup
from neuroicl.training.mvg import MVGSettings, canvases, train_mvg


@pytest.fixture
def mvg_config(test_config):
    config = copy.deepcopy(test_config)
    config["training"]["checkpoint_every"] = 2
    config["training"]["log_every"] = 1
    return config


def _train(config, pool, tmp_path, **settings):
    run = by_name(catalogue(config, n_train=4), "mvg")
    run = type(run).from_dict({**run.to_dict(), "settings": {**run.settings, **settings}})
    return train_mvg(run, config, TrainingData([pool], ["s"], [], torch.device("cpu")), tmp_path, progress=False)[:2]


def test_the_catalogue_lists_the_task_subset_and_optionally_all_tasks(mvg_config):
    (run,) = [r for r in catalogue(mvg_config, n_train=4) if r.model == "mvg"]
    assert run.trainer == "mvg" and run.in_context and run.max_context == 2
    assert set(run.weights) == {"segmentation", "denoising"} and run.eval_tasks == ("segmentation", "denoising")
    mvg_config["training"]["runs"]["mvg"]["all_tasks"] = True
    every = by_name(catalogue(mvg_config, n_train=4), "mvg-all")
    assert set(every.weights) == {k for k, w in mvg_config["tasks"]["weights"].items() if w > 0}


def test_canvases_stack_prompt_over_query_and_colour_only_masks(mvg_config, make_pool):
    pool = make_pool(subjects=4, slices=5, size=32)
    run = by_name(catalogue(mvg_config, n_train=4), "mvg")
    one = type(run).from_dict({**run.to_dict(), "max_context": 1})
    setup = task_setup(one, mvg_config["tasks"], [pool], "coronal")
    batch = synthesizer([pool], setup)(setup.sampler.sample(np.random.default_rng(0), 8), torch.Generator())
    colours = torch.rand(8, 3)
    image, label, is_mask = canvases(batch, colours)
    assert image.shape == label.shape == (8, 3, 64, 32)
    assert torch.equal(image[:, :, :32], batch.context_in[:, 0]) and torch.equal(image[:, :, 32:], batch.target_in)
    families = set(batch.families)
    assert "segmentation" in families and len(families) == 2  # both of the run's task families drawn
    active = batch.active[:, :, None, None].float()
    for i in range(8):
        query = batch.target_out[i : i + 1] * active[i : i + 1]
        expected = colourise(query, colours[i : i + 1]) if is_mask[i] else query
        assert torch.equal(label[i : i + 1, :, 32:], expected)


def test_training_is_deterministic_and_resumes(mvg_config, make_pool, tmp_path):
    pool = make_pool(subjects=4, slices=5, size=32)
    first, rows = _train(mvg_config, pool, tmp_path / "a")
    again, _ = _train(mvg_config, pool, tmp_path / "b")
    resumed, _ = _train(mvg_config, pool, tmp_path / "a")  # from the last checkpoint
    assert isinstance(first[""], MVG) and [row["step"] for row in rows] == [1, 2]
    assert all(torch.isfinite(torch.tensor(row["loss"])) for row in rows)
    for other in (again, resumed):
        assert all(torch.equal(a, b) for a, b in zip(first[""].parameters(), other[""].parameters(), strict=True))
    fresh = MVG(first[""].config, generator=torch.Generator().manual_seed(0))
    assert not all(torch.equal(a, b) for a, b in zip(fresh.parameters(), first[""].parameters(), strict=True))


def test_the_slice_size_must_match_the_model(mvg_config, make_pool, tmp_path):
    mvg_config["models"]["hyperparameters"]["mvg"]["image_size"] = 16
    mvg_config["models"]["hyperparameters"]["mvg"]["patch_size"] = 4
    with pytest.raises(ValueError, match="image_size is 16 but the slices are 32 x 32"):
        _train(mvg_config, make_pool(subjects=4, slices=5, size=32), tmp_path)


def test_unknown_or_bad_settings_name_the_key(mvg_config):
    run = by_name(catalogue(mvg_config, n_train=4), "mvg")
    with pytest.raises(ValueError, match="unknown MVG settings.*mask_ratio"):
        MVGSettings.of(type(run).from_dict({**run.to_dict(), "settings": {"ratio": 0.5}}))
    with pytest.raises(ValueError, match="mask_ratio"):
        MVGSettings(mask_ratio=1.5)
