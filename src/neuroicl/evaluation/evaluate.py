"""Score a predictor on the test targets: the same inputs and contexts for every model.

For each task, test subject, case (:mod:`.cases`) and repeat, one episode is planned from a seed of
``(dataset, subject, task, case, repeat)`` — target slice from the test split (or, for the held-out check of
docs/training.md, the validation split: ``part``), up to
``max(context_sizes)`` context items from the training split — and synthesised without
augmentation, per (task, subject) group with a seed of its own, on the CPU. Every context size L
uses the first L items of that one draw (nested context sets). So a run evaluating only one task
sees exactly the inputs that every other run sees for it.

Several datasets: each has its own setup (pools ``[train, test]``), so a target's context always comes
from the training split of its own dataset; every dataset's test subjects are scored, each with its
own modalities, on the tasks it can pose (segmentation on labelled datasets only, modality transfer
where two modalities are mapped), and the ``dataset`` column says which.

Output: a tidy long table, one row per target × context size × metric (:mod:`.metrics_table`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor
from tqdm.auto import tqdm

from neuroicl.data.slice_store import SliceStore
from neuroicl.evaluation import metrics_table
from neuroicl.evaluation.predictors import PredictFn
from neuroicl.evaluation.scoring import score
from neuroicl.plan.cases import Case, EvalSettings, cases_for
from neuroicl.plan.families import PRIMARY
from neuroicl.tasks.episodes import Episode, stable_seed
from neuroicl.tasks.pool import Pool
from neuroicl.tasks.setup import TaskSetup, build
from neuroicl.tasks.synthesize import Batch, synthesize

TRAIN_POOL, TEST_POOL = 0, 1  # TEST_POOL: the scored split's pool, whichever split ``part`` names
PARTS = ("test", "val")  # the splits whose subjects can be scored


def evaluation_setup(
    config: dict[str, Any], store: SliceStore, splits: dict[str, list[str]], dataset: str, part: str = "test"
) -> TaskSetup:
    """Pools ``[train, part]`` of ``dataset`` on the CPU (synthesis there is the same on every machine):
    contexts from the training split, targets from ``part`` (``test``, or ``val`` for the held-out check)."""
    if part not in PARTS:
        raise ValueError(f"evaluation part must be one of {PARTS}, got {part!r}")
    for name in ("train", part):
        if not splits.get(name):
            raise ValueError(
                f"dataset {dataset!r}: the {name} split is empty; evaluation needs training contexts and {part} "
                f"targets (splits.fractions in the config)"
            )
    pools = [Pool.from_store(dataset, store, splits[name]) for name in ("train", part)]
    return build(config["tasks"], pools, config["preprocess"]["slices"]["axis"])


@dataclass(frozen=True)
class Target:
    """One scored target: its case, where it comes from, and its episode (largest context)."""

    case: Case
    subject: str
    slice: int
    repeat: int
    episode: Episode


def plan(setup: TaskSetup, task: str, subject: str, settings: EvalSettings, dataset: str) -> list[Target]:
    """The targets of one task and test subject (pools: ``[train, test]``), in case and repeat order; none
    when the dataset cannot pose the task (no labels for segmentation, one modality for transfer)."""
    test = setup.sampler.pools[TEST_POOL]
    if TEST_POOL not in setup.sampler.valid[task] or TRAIN_POOL not in setup.sampler.valid[task]:
        return []
    code = test.subjects.index(subject)
    own = np.flatnonzero(test.subject == code)
    targets = []
    for case in cases_for(task, test.modalities, settings):
        rows = own
        if case.choice:
            rows = test.rows_showing(case.choice, settings.min_label_pixels, own)
            if len(rows) == 0:
                continue  # the class is not visible in this subject's slices
        for repeat in range(settings.repeats):
            rng = np.random.default_rng(stable_seed(dataset, subject, task, case.key, repeat))
            row = int(rows[rng.integers(len(rows))])
            episode = setup.sampler.episode(
                rng,
                task,
                settings.max_context,
                target=(TEST_POOL, row),
                choice=case.choice,
                augment=False,
                context_pools=[TRAIN_POOL],
                modalities=case.modalities,
            )
            targets.append(Target(case, subject, int(test.slice[row]), repeat, episode))
    return targets


def groups(
    setup: TaskSetup, tasks: list[str], settings: EvalSettings, dataset: str
) -> Iterator[tuple[list[Target], Batch]]:
    """(targets, synthesised batch) per task and test subject, always the same for the same data and config."""
    for task in tasks:
        for subject in setup.sampler.pools[TEST_POOL].subjects:
            targets = plan(setup, task, subject, settings, dataset)
            if not targets:
                continue
            generator = torch.Generator().manual_seed(stable_seed(dataset, task, subject, "synthesis"))
            batch = synthesize(
                setup.sampler.pools, [t.episode for t in targets], setup.tasks, None, generator, setup.flip_dim
            )
            yield targets, batch


def evaluate(
    predict: PredictFn,
    setups: Mapping[str, TaskSetup],
    tasks: list[str],
    settings: EvalSettings,
    run: dict[str, Any],
    *,
    context_sizes: list[int | None] | None = None,
    device: torch.device | str = "cpu",
    keep_samples: bool = False,
    progress: bool = True,
) -> tuple[pd.DataFrame, dict[str, np.ndarray] | None]:
    """Score ``predict`` on ``tasks``; return the tidy metrics and (``keep_samples``) qualitative samples.

    ``setups``: per dataset, its :func:`evaluation_setup` (in config order); rows are task by task,
    then dataset by dataset.
    ``run`` gives the identifying columns (run, model, variant, train_subjects, all_subjects).
    ``context_sizes``: the sizes L scored (default ``settings.context_sizes``; a run's own:
    :meth:`neuroicl.plan.runs.Run.context_sizes`); ``[None]`` scores a predictor that ignores the
    context once per target, with an empty ``context_size``. Predictions run without autograd
    (``torch.no_grad``), which a predictor that fits at test time may turn back on for itself.
    """
    sizes: list[int | None] = list(settings.context_sizes) if context_sizes is None else list(context_sizes)
    kept_size = min(settings.context_pairs, max((s for s in sizes if s is not None), default=0)) or None
    records: list[dict[str, Any]] = []
    kept: dict[str, list] = {}
    per_task: dict[str, int] = {}
    total = len(tasks) * sum(len(setup.sampler.pools[TEST_POOL].subjects) for setup in setups.values())
    every = (
        (dataset, group)
        for task in tasks
        for dataset, setup in setups.items()
        for group in groups(setup, [task], settings, dataset)
    )
    bar = tqdm(
        every, total=total, desc=f"evaluate {run['run']}", disable=not progress, mininterval=5.0
    )  # groups are synthesised one at a time
    with torch.no_grad():
        for dataset, (targets, batch) in bar:
            family = batch.families[0]
            for size in sizes:
                length = size or 0
                for start in range(0, len(targets), settings.batch_size):
                    part = slice(start, start + settings.batch_size)
                    chunk = targets[part]
                    pred = _predict(predict, batch, part, length, family, chunk, device)
                    _check_finite(pred, batch.active[part], run["run"], chunk, dataset, size)
                    metrics = score(family, pred, batch.target_out[part], batch.active[part])
                    for name, values in metrics.items():
                        for target, value in zip(chunk, values.tolist(), strict=True):
                            records.append(_record(run, target, family, dataset, size, name, value))
                    if keep_samples and size == kept_size:
                        _keep(kept, per_task, settings, batch, part, pred, metrics[PRIMARY[family]], chunk, length)
    table = metrics_table.from_records(records)
    samples = {key: np.stack(values) for key, values in kept.items()} if keep_samples else None
    return table, samples


def _predict(
    predict: PredictFn,
    batch: Batch,
    part: slice,
    length: int,
    family: str,
    chunk: list[Target],
    device: torch.device | str,
) -> Tensor:
    """Predictions of one chunk, one call per label (a per-label predictor picks its network by it)."""
    args = [batch.target_in[part], batch.context_in[part, :length], batch.context_out[part, :length]]
    args = [a.to(device) for a in args]
    names = np.array([t.case.label for t in chunk])
    if len(set(names)) == 1:
        return predict(*args, family, str(names[0])).float().cpu()
    out = torch.empty_like(batch.target_out[part])
    for label in sorted(set(names)):
        index = torch.as_tensor(np.flatnonzero(names == label))
        out[index] = predict(*(a[index.to(a.device)] for a in args), family, label).float().cpu()
    return out


def _check_finite(
    pred: Tensor, active: Tensor, run: str, chunk: list[Target], dataset: str, size: int | None
) -> None:
    """Stop on a NaN or infinite prediction in an active channel: a mean that skipped it would flatter the run."""
    bad = (~torch.isfinite(pred).flatten(2).all(dim=2) & active).any(dim=1)  # B: a scored channel not finite
    if bad.any():
        target = chunk[int(bad.nonzero()[0])]
        raise ValueError(
            f"run {run!r}: non-finite predictions for {int(bad.sum())} target(s) of task "
            f"{target.case.task!r} (first: {dataset} {target.subject} slice {target.slice}, context size {size}); "
            f"the model may have diverged: check results/train/{run}/log.csv"
        )


def _record(
    run: dict[str, Any], target: Target, family: str, dataset: str, size: int | None, metric: str, value: float
) -> dict[str, Any]:
    case = target.case
    return {
        **run,
        "task": case.task,
        "family": family,
        "dataset": dataset,
        "subject": target.subject,
        "slice": target.slice,
        "repeat": target.repeat,
        "context_size": size,
        "modality": case.modality,
        "target_modality": case.target_modality or "",
        "label": case.label,
        "metric": metric,
        "value": value,
    }


def _keep(
    kept: dict[str, list],
    per_task: dict[str, int],
    settings: EvalSettings,
    batch: Batch,
    part: slice,
    pred: Tensor,
    primary: Tensor,
    chunk: list[Target],
    length: int,
) -> None:
    """Keep the first ``settings.samples`` targets of each task for the qualitative figures."""
    for i, target in enumerate(chunk):
        task = target.case.task
        if per_task.get(task, 0) >= settings.samples:
            continue
        per_task[task] = per_task.get(task, 0) + 1
        j = part.start + i
        pairs = min(length, settings.context_pairs)
        values = {
            "target_in": batch.target_in[j],
            "target_out": batch.target_out[j],
            "prediction": pred[i],
            "context_in": batch.context_in[j, :pairs],
            "context_out": batch.context_out[j, :pairs],
            "active": batch.active[j],
        }
        for key, value in values.items():
            kept.setdefault(key, []).append(value.cpu().numpy())
        kept.setdefault("task", []).append(task)
        kept.setdefault("modality", []).append(target.case.modality)
        kept.setdefault("score", []).append(float(primary[i]))
        kept.setdefault("context_size", []).append(length)
