"""ISTN's study jobs: determinism, resume, model selection, and that no target label is ever read."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

import neuroicl.data.domains as domains
import neuroicl.training.istn_job as istn_job
from neuroicl.data.domains import domain_images, labelled_domain
from neuroicl.models.istn_file import load_istn_model
from neuroicl.training.checkpoint import CheckpointStore
from neuroicl.training.istn import TargetImages, TargetLabelError
from neuroicl.training.istn_adapt import adapt
from neuroicl.training.istn_fit import FitSettings, train_source
from neuroicl.training.istn_job import run_adaptation, run_source
from tests.helpers.istn import tiny_study, two_site_data

LABELS = {"cortex": (3, 4), "lateral_ventricle": (5, 6)}


@pytest.fixture(autouse=True)
def single_thread():
    """One intra-op thread and denormals flushed, as the study's jobs run (:func:`istn_job.setup`); restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    yield
    torch.set_flush_denormal(False)
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data():
    return two_site_data()


def _domains(data, task="segmentation"):
    store, participants, splits = data
    study = tiny_study(task)
    train = labelled_domain(store, participants, "siteA", study.subjects(splits, "train"), ["T1w"], task, LABELS)
    selection = labelled_domain(store, participants, "siteA", study.subjects(splits, "selection"), ["T1w"], task,
                                LABELS)
    target = domain_images(store, "siteB", study.subjects(splits, "target"), ["T1w"])
    return study, train, selection, target


def _weights(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.state_dict().values()]


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(_weights(a), _weights(b), strict=True))


def test_training_is_deterministic_and_leaves_the_global_rng_alone(data, tmp_path):
    study, train, selection, target = _domains(data)
    settings = FitSettings.of(study.settings)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    runs = []
    for i in range(2):
        source, _ = train_source("segmentation", train, selection, 2, settings, CheckpointStore(tmp_path, f"s{i}"),
                                 progress=False)
        adapted, log = adapt("segmentation", "itn+affine", "uni", train, selection, target,
                             {"scratch": None, "finetune": source}, settings, CheckpointStore(tmp_path, f"a{i}"),
                             progress=False)
        runs.append((source, adapted, log))
    assert torch.equal(torch.get_rng_state(), before)
    (s0, a0, log0), (s1, a1, log1) = runs
    assert _same(s0.task_model, s1.task_model)
    for init in ("scratch", "finetune"):
        assert _same(a0[init].task_model, a1[init].task_model) and _same(a0[init].istn, a1[init].istn)
    assert pd.DataFrame(log0).drop(columns="seconds").equals(pd.DataFrame(log1).drop(columns="seconds"))


class Interrupted(Exception):
    """Raised by :class:`StopAfter` after its checkpoint."""


class StopAfter(CheckpointStore):
    """A checkpoint store whose job is killed right after the checkpoint of step ``stop``."""

    def __init__(self, root, key, stop):
        super().__init__(root, key)
        self.stop = stop

    def save(self, step, state):
        path = super().save(step, state)
        if step == self.stop:
            raise Interrupted(step)
        return path


def test_a_resumed_adaptation_equals_an_uninterrupted_one(data, tmp_path):
    study, train, selection, target = _domains(data)
    settings = FitSettings.of(study.settings)
    whole, _ = adapt("segmentation", "itn+bspline", "bi", train, selection, target, {"scratch": None}, settings,
                     CheckpointStore(tmp_path, "whole"), progress=False)
    with pytest.raises(Interrupted):
        adapt("segmentation", "itn+bspline", "bi", train, selection, target, {"scratch": None}, settings,
              StopAfter(tmp_path, "resumed", stop=2), progress=False)
    resumed, log = adapt("segmentation", "itn+bspline", "bi", train, selection, target, {"scratch": None}, settings,
                         CheckpointStore(tmp_path, "resumed"), progress=False)
    assert [row["step"] for row in log] == [2, 4]
    assert _same(whole["scratch"].task_model, resumed["scratch"].task_model)
    assert _same(whole["scratch"].reverse, resumed["scratch"].reverse)


def test_both_inits_share_the_istn_draws(data, tmp_path):
    """The ISTN never reads the task model: training one init or both gives the same ISTN trajectory."""
    study, train, selection, target = _domains(data)
    settings = dataclasses.replace(FitSettings.of(study.settings), select_from=4)  # selects the last step
    source, _ = train_source("segmentation", train, selection, 2, FitSettings.of(study.settings),
                             CheckpointStore(tmp_path, "s"), progress=False)
    both, _ = adapt("segmentation", "itn", "uni", train, selection, target, {"scratch": None, "finetune": source},
                    settings, CheckpointStore(tmp_path, "both"), progress=False)
    alone, _ = adapt("segmentation", "itn", "uni", train, selection, target, {"scratch": None}, settings,
                     CheckpointStore(tmp_path, "alone"), progress=False)
    assert _same(both["scratch"].istn, alone["scratch"].istn) and _same(both["finetune"].istn, alone["scratch"].istn)
    assert _same(both["scratch"].task_model, alone["scratch"].task_model)
    assert not _same(both["finetune"].task_model, both["scratch"].task_model)


def test_selection_keeps_the_best_step_from_select_from(data, tmp_path, monkeypatch):
    study, train, selection, target = _domains(data)
    settings = dataclasses.replace(FitSettings.of(study.settings), steps=6, select_every=2, select_from=4)
    scores = iter([0.9, 0.1])  # steps 4 and 6 (step 2 precedes select_from)
    monkeypatch.setattr("neuroicl.training.istn_adapt.select", lambda *args: next(scores))
    models, log = adapt("segmentation", "affine", "uni", train, selection, target, {"scratch": None}, settings,
                        CheckpointStore(tmp_path, "sel"), progress=False)
    assert models["scratch"].selected_step == 4 and models["scratch"].selection_score == 0.9
    assert [row.get("selection_scratch") for row in log] == [None, 0.9, 0.1]


def test_the_adaptation_refuses_a_labelled_target(data, tmp_path):
    study, train, selection, _ = _domains(data)
    with pytest.raises(TypeError, match="images only"):
        adapt("segmentation", "itn", "uni", train, selection, train, {"scratch": None},
              FitSettings.of(study.settings), CheckpointStore(tmp_path, "x"), progress=False)


@pytest.mark.parametrize("task", ["segmentation", "age", "sex"])
def test_the_jobs_read_labels_of_the_source_site_only(data, tmp_path, monkeypatch, task):
    """The guard: every label the source and adaptation jobs read is the source site's, the target's images come
    through the label-free reader, and the iteration would raise on any read of a target label."""
    store, participants, splits = data
    study = tiny_study(task)
    read: list[str] = []
    reader = domains.labelled_domain

    def spy(store, participants, site, *args, **kwargs):
        read.append(site)
        return reader(store, participants, site, *args, **kwargs)

    monkeypatch.setattr(istn_job, "labelled_domain", spy)
    touched: list[str] = []
    monkeypatch.setattr(TargetImages, "__getattr__", lambda self, name: touched.append(name) or (_ for _ in ()).throw(
        TargetLabelError(name)))
    source = tmp_path / "source.pt"
    run_source(study, task, "siteA", store, participants, splits, str(source), str(tmp_path / "s.csv"),
               str(tmp_path / "ck"), progress=False)
    models = {"scratch": str(tmp_path / "scratch.pt"), "finetune": str(tmp_path / "finetune.pt")}
    run_adaptation(study, task, "siteA-siteB", "itn-affine_uni", store, participants, splits, models,
                   str(tmp_path / "a.csv"), str(tmp_path / "ck"), str(source), progress=False)
    assert set(read) == {"siteA"} and touched == []
    assert all(load_istn_model(path).label_sites == ["siteA"] for path in models.values())


def test_a_covariate_task_leaves_out_subjects_without_the_covariate(data):
    store, participants, splits = data
    missing = participants["participant_id"].iloc[-1]
    site = participants["site"].iloc[-1]
    every = sorted(participants.loc[participants["site"] == site, "participant_id"])
    domain = labelled_domain(store, participants, site, every, ["T1w"], "age")
    assert missing not in set(domain.subjects) and np.isfinite(domain.labels).all()
