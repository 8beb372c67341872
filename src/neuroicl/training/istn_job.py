"""ISTN's study jobs (rules ``istn_source``, ``istn_adapt``): which subjects each domain takes, then train and write.

Subjects (:meth:`~neuroicl.plan.istn_study.ISTNStudy.subjects`): the source site's ``train`` split part is the
labelled training set and its ``istn.selection`` part (``val``) selects the models; the target site's images are
those of every split part with ``istn.transductive`` (scored on the same subjects, none of whose labels training
reads) or of its ``train`` part (scored on its ``test`` part). Only the source site's labels are read here
(:func:`source_domains`); the target's images come from :func:`~neuroicl.data.domains.domain_images`, which reads
no label.

Example:
    >>> run_source(study, "segmentation", "siteA", store, participants, splits, "model.pt", "log.csv", "checkpoints")
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from neuroicl.core.device import pick_device
from neuroicl.core.io import atomic_path
from neuroicl.data.domains import DomainImages, LabelledDomain, domain_images, labelled_domain
from neuroicl.data.slice_store import SliceStore
from neuroicl.models.istn_file import load_istn_model, save_istn_model
from neuroicl.plan.istn_study import ISTNStudy, Variant
from neuroicl.training.checkpoint import CheckpointStore, file_stamp, fingerprint
from neuroicl.training.istn_adapt import adapt
from neuroicl.training.istn_fit import FitSettings, train_source

_log = logging.getLogger(__name__)


def source_domains(study: ISTNStudy, task: str, site: str, store: SliceStore, participants: pd.DataFrame,
                   splits: dict[str, list[str]]) -> tuple[LabelledDomain, LabelledDomain]:
    """The labelled source training and selection slices of ``site``."""
    def read(role: str) -> LabelledDomain:
        return labelled_domain(store, participants, site, study.subjects(splits, role), study.modalities,
                               task, study.labels, study.slices)

    return read("train"), read("selection")


def target_domain(study: ISTNStudy, site: str, store: SliceStore, splits: dict[str, list[str]]) -> DomainImages:
    """The target site's images the ISTN trains on (no label is read)."""
    return domain_images(store, site, study.subjects(splits, "target"), study.modalities, study.slices)


def _checkpoints(root: str | os.PathLike, job: str, study: ISTNStudy, stamp: Any) -> CheckpointStore:
    key = fingerprint({"job": job, "settings": study.settings, "modalities": study.modalities,
                       "labels": study.labels, "selection": study.selection, "transductive": study.transductive,
                       "stamp": stamp, **({} if study.slices is None else {"slices": study.slices})})
    return CheckpointStore(Path(root) / job, key)


def _write_log(path: str | os.PathLike, rows: list[dict[str, Any]]) -> None:
    with atomic_path(path) as temporary:
        pd.DataFrame(rows).to_csv(temporary, index=False, float_format="%.6g")


def run_source(study: ISTNStudy, task: str, site: str, store: SliceStore, participants: pd.DataFrame,
               splits: dict[str, list[str]], model: str, log: str, checkpoints: str, stamp: Any = None,
               progress: bool = True) -> None:
    """Train T_S of ``task`` on ``site`` (resuming from ``checkpoints``); write its log, then its model file."""
    train, selection = source_domains(study, task, site, store, participants, splits)
    device = pick_device(study.settings["device"])
    job = f"istn/{study.dataset}/{task}/{site}/source"
    _log.info("%s: %d training, %d selection slices", job, len(train.images), len(selection.images))
    fitted, rows = train_source(task, train, selection, len(study.labels) if task == "segmentation" else 0,
                                FitSettings.of(study.settings), _checkpoints(checkpoints, job, study, stamp), job,
                                device, progress)
    _write_log(log, rows)
    save_istn_model(model, fitted)
    _log.info("done: selected step %d (score %.4f)", fitted.selected_step, fitted.selection_score)


def run_adaptation(study: ISTNStudy, task: str, pair: str, adaptation: str, store: SliceStore,
                   participants: pd.DataFrame, splits: dict[str, list[str]], models: dict[str, str], log: str,
                   checkpoints: str, source_model: str | None = None, stamp: Any = None,
                   progress: bool = True) -> None:
    """Train the adaptation ``<mode>_<direction>`` of ``task`` and ``pair``; write its log and one model file per
    init (``models``: init -> path; ``finetune`` reads ``source_model``)."""
    variant = Variant.from_name(f"{adaptation}_{next(iter(models))}")
    source, target = study.pair(pair)
    train, selection = source_domains(study, task, source, store, participants, splits)
    images = target_domain(study, target, store, splits)
    device = pick_device(study.settings["device"])
    inits = {}
    for init in models:
        if init == "finetune" and source_model is None:
            raise ValueError("the finetune init starts from T_S: pass source_model (the source job's model file)")
        inits[init] = load_istn_model(source_model, device) if init == "finetune" else None
    job = f"istn/{study.dataset}/{task}/{pair}/{adaptation}"
    _log.info("%s: %d source, %d selection, %d target slices (%s)", job, len(train.images), len(selection.images),
              len(images.images), "transductive" if study.transductive else "target train split")
    # the inits and T_S's file join the fingerprint: another init list or a retrained T_S never resumes this one
    key = [stamp, list(models), file_stamp([source_model]) if "finetune" in models else None]
    fitted, rows = adapt(task, variant.mode, variant.direction, train, selection, images, inits,
                         FitSettings.of(study.settings), _checkpoints(checkpoints, job, study, key), job, device,
                         progress)
    _write_log(log, rows)
    for init, path in models.items():
        save_istn_model(path, fitted[init])
        _log.info("%s: selected step %d (score %.4f)", init, fitted[init].selected_step, fitted[init].selection_score)


def setup(threads: int) -> None:
    """A job's torch threads, and denormal floats flushed to zero on the CPU: as the task models converge their
    gradients underflow into denormals, on which x86 convolutions are ~3x slower (measured: the U-Net's backward
    2.6 ms -> 0.8 ms per convolution at demo scale; docs/models.md)."""
    torch.set_num_threads(max(1, int(threads)))
    torch.set_flush_denormal(True)
