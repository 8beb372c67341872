"""Training from several datasets: one pool per dataset, U-Net subjects pooled over the datasets that can
pose the task."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from neuroicl.plan.runs import by_name, catalogue
from neuroicl.training.data import subject_subset, training_subjects
from neuroicl.training.runner import fit
from tests.helpers.toy import toy_split, toy_store


@pytest.fixture
def two_datasets(make_pool):
    """'seg': labelled, four modalities; 'plain': no labels, one modality (as OASIS-1 and IXI differ)."""
    labelled, plain = make_pool(name="seg", subjects=5), make_pool(name="plain", labels=False, subjects=4)
    stores = {"seg": toy_store(labelled), "plain": toy_store(plain, modalities=1)}
    splits = {"seg": toy_split(labelled, 3), "plain": toy_split(plain, 3)}
    return stores, splits


def _config(test_config):
    config = test_config
    config["training"]["runs"]["unet"]["subjects"] = [1, 2, 4, "all"]
    return config


def test_u_net_subjects_come_only_from_datasets_that_can_pose_the_task(two_datasets, test_config):
    stores, splits = two_datasets
    runs = catalogue(_config(test_config), n_train=6)
    seg = training_subjects(by_name(runs, "unet-segmentation-n2"), test_config["tasks"], stores, splits, 0)
    assert list(seg) == ["seg"] and len(seg["seg"]) == 2  # the unlabelled dataset cannot pose segmentation
    den = training_subjects(by_name(runs, "unet-denoising-n4"), test_config["tasks"], stores, splits, 0)
    assert sum(len(ids) for ids in den.values()) == 4 and set(den) <= {"seg", "plain"}
    everything = training_subjects(by_name(runs, "neuralizer-seen"), test_config["tasks"], stores, splits, 0)
    assert everything == {"seg": splits["seg"]["train"], "plain": splits["plain"]["train"]}


def test_u_net_subsets_are_nested_across_datasets(two_datasets, test_config):
    stores, splits = two_datasets
    runs = catalogue(_config(test_config), n_train=6)
    picked = [
        training_subjects(by_name(runs, f"unet-denoising-n{k}"), test_config["tasks"], stores, splits, 0)
        for k in (1, 2, 4)
    ]
    flat = [{f"{name}/{s}" for name, ids in p.items() for s in ids} for p in picked]
    assert flat[0] <= flat[1] <= flat[2]


def test_one_dataset_draws_the_subjects_it_drew_before(two_datasets, test_config):
    stores, splits = two_datasets
    run = by_name(catalogue(_config(test_config), n_train=3), "unet-denoising-n2")
    chosen = training_subjects(run, test_config["tasks"], {"seg": stores["seg"]}, {"seg": splits["seg"]}, 0)
    assert chosen == {"seg": subject_subset(splits["seg"]["train"], 2, 0)}


@pytest.mark.parametrize("name", ["neuralizer-seen", "unet-segmentation-n1", "unet-denoising-all"])
def test_fit_trains_from_two_pools(two_datasets, test_config, tmp_path, name):
    stores, splits = two_datasets
    config = _config(test_config)
    run = by_name(catalogue(config, n_train=6), name)
    run = replace(run, steps=2, batch_size=2)
    networks, rows, _ = fit(run, config, stores, splits, tmp_path, progress=False)
    labels = list(config["evaluation"]["labels"]) if run.per_label else [""]
    assert list(networks) == labels
    assert all(np.isfinite(row["loss"]) for row in rows)
    again, _, _ = fit(run, config, stores, splits, tmp_path / "fresh", progress=False)
    for label in labels:  # deterministic with several pools too
        first, second = networks[label].state_dict(), again[label].state_dict()
        assert all(torch.equal(first[k], second[k]) for k in first)
