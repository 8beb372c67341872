"""MetaSeg's own outputs, on the evaluation's segmentation targets: Dice against the test-time fitting steps T
(its paper's Fig. 2), the initialisation ablation (its Table 2) and the sensitivity to misalignment.

The targets are the evaluation's (:func:`neuroicl.evaluation.evaluate.groups`: test slices showing the class,
planned from seeds of the subject, case and repeat), for the study's classes, with the study's own number of
repeats; no context is read. Every function returns a tidy table, one row per target x setting x metric:
``dice`` (foreground Dice, as everywhere) and ``generalised_dice`` (MetaSeg's tables: background included,
:func:`neuroicl.core.metrics.generalised_dice`).

Example:
    >>> targets = study_targets(config, stores, splits, ["thalamus"], repeats=8)
    >>> table = dice_vs_steps({"meta": load_networks(path)}, targets, [0, 2, 5, 10, 25, 50])
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import torch
from torch import Tensor

from neuroicl.core.metrics import dice_score, generalised_dice
from neuroicl.data.slice_store import SliceStore
from neuroicl.evaluation.evaluate import evaluation_setup, groups
from neuroicl.evaluation.predictors import PredictFn
from neuroicl.models.base import IMAGE_CHANNELS
from neuroicl.models.metaseg import MetaSeg
from neuroicl.plan.cases import EvalSettings
from neuroicl.tasks.episodes import stable_seed
from neuroicl.tasks.ops.spatial import apply_grid, sampling_grid
from neuroicl.tasks.setup import TaskSetup

TASK = "segmentation"
#: The metrics of every study table.
METRICS = ("dice", "generalised_dice")


@dataclass(frozen=True)
class StudyTargets:
    """The test targets of one class: images ``[B, 3, H, W]``, masks ``[B, 3, H, W]``, active channels ``[B, 3]``."""

    label: str
    subjects: tuple[str, ...]
    images: Tensor
    masks: Tensor
    active: Tensor


def study_targets(config: dict[str, Any], stores: Mapping[str, SliceStore],
                  splits: Mapping[str, dict[str, list[str]]], labels: list[str], repeats: int) -> list[StudyTargets]:
    """The segmentation targets of ``labels`` on every dataset's test split, ``repeats`` slices per subject."""
    setups = {name: evaluation_setup(config, store, splits[name], name) for name, store in stores.items()}
    return targets_of(setups, EvalSettings.from_config(config["evaluation"]), labels, repeats)


def targets_of(setups: Mapping[str, TaskSetup], settings: EvalSettings, labels: list[str],
               repeats: int) -> list[StudyTargets]:
    """:func:`study_targets` on evaluation setups (per dataset, :func:`evaluation_setup`) and settings."""
    unknown = sorted(set(labels) - set(settings.labels))
    if unknown:
        raise ValueError(f"MetaSeg study labels {unknown} are not evaluation.labels ({sorted(settings.labels)})")
    settings = replace(settings, repeats=repeats, context_sizes=(1,))  # one context item: its draw is not read
    found: dict[str, list[tuple[str, Tensor, Tensor, Tensor]]] = {label: [] for label in labels}
    for dataset, setup in setups.items():
        for targets, batch in groups(setup, [TASK], settings, dataset):
            for i, target in enumerate(targets):
                if target.case.label in found:
                    found[target.case.label].append(
                        (target.subject, batch.target_in[i], batch.target_out[i], batch.active[i]))
    out = []
    for label, items in found.items():
        if not items:
            raise ValueError(f"MetaSeg study: no test slice shows {label!r}")
        subjects, images, masks, active = zip(*items, strict=True)
        out.append(StudyTargets(label, subjects, torch.stack(images).float(), torch.stack(masks).float(),
                                torch.stack(active)))
    return out


def _rows(name: str, targets: StudyTargets, setting: dict[str, Any], probabilities: Tensor) -> list[dict[str, Any]]:
    """Rows of the two metrics of foreground probabilities ``[B, 1 or 3, H, W]`` against the targets."""
    pred = probabilities.expand(-1, IMAGE_CHANNELS, -1, -1)
    rows = []
    for metric, function in (("dice", dice_score), ("generalised_dice", generalised_dice)):
        values = function(pred, targets.masks, targets.active)
        rows += [{"model": name, "label": targets.label, "subject": subject, "target": j, **setting,
                  "metric": metric, "value": float(value)}
                 for j, (subject, value) in enumerate(zip(targets.subjects, values.tolist(), strict=True))]
    return rows


def dice_vs_steps(models: Mapping[str, Mapping[str, MetaSeg]], targets: list[StudyTargets],
                  steps: list[int]) -> pd.DataFrame:
    """Each model's scores after T test-time fitting steps, for every T of ``steps`` (one fit per target read at
    each T, :meth:`MetaSeg.segment_steps`). ``models``: name -> its networks by label. Columns: model, label,
    subject, target, steps, metric, value."""
    rows = []
    for name, networks in models.items():
        for part in targets:
            read = networks[part.label].segment_steps(part.images, steps)
            for t in steps:
                rows += _rows(name, part, {"steps": t}, read[t][:, 1:2])
    return pd.DataFrame(rows)


def ablation(models: Mapping[str, Mapping[str, MetaSeg]], targets: list[StudyTargets],
             known: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each model's scores after its own T fitting steps (the same T for all: the ablation's setting).

    ``known``: a :func:`dice_vs_steps` table of the same targets; a model's rows at its own T are taken from it
    rather than fitted again (one trajectory read at T equals a fit of T steps)."""
    rows = []
    for name, networks in models.items():
        for part in targets:
            network = networks[part.label]
            t = network.config.steps
            found = [] if known is None else known[
                (known["model"] == name) & (known["label"] == part.label) & (known["steps"] == t)].to_dict("records")
            if len(found) == len(METRICS) * len(part.images):
                rows += found
            else:
                rows += _rows(name, part, {"steps": t}, network.segment(part.images)[:, 1:2])
    return pd.DataFrame(rows)


def sample_misalignment(n: int, degrees: float, shift: float, generator: torch.Generator) -> Tensor:
    """``theta [N, 2, 3]`` (for ``F.affine_grid``) rotating each image by exactly ``degrees`` (random sign) and
    moving it by ``shift`` of the image side in a random direction: the misalignment of one level."""
    if degrees < 0 or shift < 0:
        raise ValueError(f"misalignment: degrees and shift must be >= 0, got {degrees}, {shift}")
    sign = torch.randint(0, 2, (n,), generator=generator).float() * 2 - 1
    direction = torch.rand(n, generator=generator) * 2 * math.pi
    angle = sign * math.radians(degrees)
    cos, sin = torch.cos(angle), torch.sin(angle)
    linear = torch.stack([torch.stack([cos, -sin], dim=1), torch.stack([sin, cos], dim=1)], dim=1)
    move = 2 * shift * torch.stack([torch.cos(direction), torch.sin(direction)], dim=1)  # [-1, 1] spans the side
    return torch.cat([linear, -(linear @ move.unsqueeze(-1))], dim=2)


def apply_misalignment(images: Tensor, masks: Tensor, theta: Tensor) -> tuple[Tensor, Tensor]:
    """Images (bilinear) and masks (nearest) ``[B, C, H, W]`` moved by ``theta`` (:func:`sample_misalignment`)."""
    grid = sampling_grid(theta, None, tuple(images.shape[-2:]))
    return apply_grid(images, grid), apply_grid(masks, grid, mode="nearest")


def misalignment(predictors: Mapping[str, PredictFn], targets: list[StudyTargets], rotations: list[float],
                 translations: list[float]) -> pd.DataFrame:
    """Each predictor's scores on the targets rotated by each of ``rotations`` (degrees) and, separately, moved
    by each of ``translations`` (fraction of the side); image and mask move together, the same draws for every
    predictor. Columns: model, label, subject, target, kind (rotation/translation), level, metric, value."""
    rows, unmoved = [], {}  # level 0 of both kinds is the same identity: predicted once per model and class
    for kind, levels in (("rotation", rotations), ("translation", translations)):
        for level in levels:
            for part in targets:
                generator = torch.Generator().manual_seed(stable_seed("misalignment", kind, level, part.label))
                degrees, shift = (level, 0.0) if kind == "rotation" else (0.0, level)
                theta = sample_misalignment(len(part.images), degrees, shift, generator)
                images, masks = apply_misalignment(part.images, part.masks, theta)
                moved = replace(part, images=images, masks=masks)
                empty = images.new_zeros((len(images), 0, *images.shape[1:]))
                for name, predict in predictors.items():
                    if level == 0 and (name, part.label) in unmoved:
                        pred = unmoved[name, part.label]
                    else:
                        with torch.no_grad():
                            pred = predict(images, empty, empty, TASK, part.label).float()
                        if level == 0:
                            unmoved[name, part.label] = pred
                    rows += _rows(name, moved, {"kind": kind, "level": level}, pred[:, :1])
    return pd.DataFrame(rows)
