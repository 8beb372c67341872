"""The dry-run summary: estimated GPU-hours of the training and evaluation jobs (issue #8).

Training a run costs ``steps × batch_size`` samples per network (the per-class segmentation U-Net
trains one network per evaluation label) at the model's measured training throughput
(``bench/throughput.yaml``, samples/s, written by ``python -m bench.train_speed --write``). Evaluation
scores every target of its tasks at every context size L it takes: a forward pass without backward
costs about a third of a training sample (:data:`FORWARD_FRACTION`), scaled by
``(1 + L) / (1 + L_train)`` for in-context models, whose cost grows with the items they see
(``L_train``: the mean context size the throughput was measured at, its ``mean_context`` if given,
else the mean of ``tasks.context.size``). These are estimates for planning, not promises; a model
whose throughput is not measured is reported as such. Snakemake's own "Job stats" table, printed next
to it, counts the jobs of every rule.

Example:
    >>> print(dry_run_summary(runs, load_throughput("bench/throughput.yaml"), targets, settings))  # doctest: +SKIP
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from neuroicl.plan import slicing as slices
from neuroicl.plan.cases import EvalSettings, cases_for
from neuroicl.plan.cohort import CohortSpec
from neuroicl.plan.datasets import DatasetSpec, planned_split_sizes
from neuroicl.plan.runs import Run

#: Cost of a forward-only sample relative to a training sample (forward + backward ≈ 3 forwards).
FORWARD_FRACTION = 1 / 3

#: The command that fills bench/throughput.yaml (quoted when a value is missing).
BENCH_HINT = "not measured — run python -m bench.train_speed --device cuda --write bench/throughput.yaml"

FIELDS = ("samples_per_s", "device", "command", "measured")

#: Width of a model whose config sets none (the paper's, the dataclasses' default).
DEFAULT_CHANNELS = 64


def load_throughput(path: str | Path) -> dict[str, dict[str, Any]]:
    """``bench/throughput.yaml``: per model ``{samples_per_s, device, command, measured}`` (values may be null).

    Raises:
        ValueError: naming the file and model when an entry lacks a field or has a non-positive rate.
    """
    table = yaml.safe_load(Path(path).read_text()) or {}
    for model, entry in table.items():
        missing = [key for key in FIELDS if key not in (entry or {})]
        if missing:
            raise ValueError(f"{path}: model {model!r} lacks {missing}; every model needs {list(FIELDS)}")
        rate = entry["samples_per_s"]
        if rate is not None and not (isinstance(rate, int | float) and rate > 0):
            raise ValueError(f"{path}: {model}.samples_per_s must be a positive number or null, got {rate!r}")
    return table


def eval_targets(
    datasets: Mapping[str, tuple[list[str], bool, int]], tasks: list[str], settings: EvalSettings
) -> dict[str, int]:
    """Targets scored per task: test subjects × cases × repeats, summed over the datasets that can pose it.

    ``datasets``: name → (modalities, labelled, test subjects). Segmentation needs labels and modality
    transfer a mapped pair of modalities, as in evaluation (:func:`neuroicl.evaluation.evaluate.plan`).
    """
    counts: dict[str, int] = {}
    for task in tasks:
        total = 0
        for modalities, labelled, n_test in datasets.values():
            if task == "segmentation" and not labelled:
                continue
            try:
                cases = cases_for(task, list(modalities), settings)
            except ValueError:  # no transfer pair among this dataset's modalities
                continue
            total += n_test * len(cases) * settings.repeats
        counts[task] = total
    return counts


def training_samples(run: Run, n_labels: int) -> int:
    """Samples one training job processes: steps × batch size, per network."""
    networks = n_labels if run.per_label else 1
    return run.steps * run.batch_size * networks if run.trained else 0


def evaluation_samples(run: Run, targets: Mapping[str, int], settings: EvalSettings, train_context: float) -> float:
    """Training-sample equivalents of one evaluation job (see the module docstring)."""
    sizes = run.context_sizes(settings.context_sizes)
    if sizes == [None]:
        return FORWARD_FRACTION * sum(targets.get(task, 0) for task in run.eval_tasks)
    scale = sum((1 + size) / (1 + train_context) for size in sizes)
    return FORWARD_FRACTION * scale * sum(targets.get(task, 0) for task in run.eval_tasks)


def estimate(
    runs: list[Run],
    throughput: Mapping[str, Mapping[str, Any]],
    targets: Mapping[str, int],
    settings: EvalSettings,
    train_context: float,
) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (rule, model): jobs, samples and GPU-hours (None when the model's throughput is not measured).

    Parameter-free models (no trained run and no entry in ``throughput``) cost nothing to train and are left
    out of the evaluation hours (their evaluation is light); a trained model without an entry is not measured.
    """
    trained = {run.model for run in runs if run.trained}
    rows: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: {"jobs": 0, "samples": 0.0, "hours": 0.0})
    for run in runs:
        entry = throughput.get(run.model) or {}
        rate = entry.get("samples_per_s")
        measured_at = train_context if entry.get("mean_context") is None else entry["mean_context"]  # its L, if it says
        parts = [("train", training_samples(run, len(settings.labels)))] if run.trained else []
        parts.append(("evaluate", evaluation_samples(run, targets, settings, measured_at)))
        for rule, samples in parts:
            row = rows[rule, run.model]
            row["jobs"] += 1
            row["samples"] += samples
            if run.model not in throughput and run.model not in trained:
                row["hours"] = 0.0
            elif rate is None or row["hours"] is None:
                row["hours"] = None
            else:
                row["hours"] += samples / rate / 3600
    return dict(rows)


def dry_run_summary(
    runs: list[Run],
    throughput: Mapping[str, Mapping[str, Any]],
    targets: Mapping[str, int],
    settings: EvalSettings,
    train_context: float,
    header: str = "",
) -> str:
    """A short table of the training and evaluation jobs with their estimated GPU-hours."""
    rows = estimate(runs, throughput, targets, settings, train_context)
    lines = [
        "",
        "Dry-run summary: estimated GPU-hours (bench/throughput.yaml; estimates, see src/neuroicl/plan/summary.py)",
    ]
    if header:
        lines.append(header)
    lines.append(f"{'rule':<10} {'model':<13} {'jobs':>5} {'samples':>14} {'GPU-hours':>10}  throughput")
    totals: dict[str, float | None] = {}
    for (rule, model), row in sorted(rows.items()):
        entry = throughput.get(model)
        if entry is None and ("train", model) not in rows:  # no entry and nothing trained: parameter-free
            note, hours = "parameter-free (not counted)", "-"
        elif entry is None:
            note, hours = f"{BENCH_HINT} (no entry for {model!r})", "?"
        elif entry["samples_per_s"] is None:
            note, hours = entry.get("note", BENCH_HINT), "?"
        else:
            note = f"{entry['samples_per_s']:g} samples/s on {entry['device']} ({entry['measured']})"
            hours = f"{row['hours']:.1f}"
        lines.append(f"{rule:<10} {model:<13} {row['jobs']:>5} {row['samples']:>14,.0f} {hours:>10}  {note}")
        known = totals.get(rule, 0.0)
        totals[rule] = None if known is None or row["hours"] is None else known + row["hours"]
    for rule, total in sorted(totals.items()):
        value = "incomplete: some models are not measured" if total is None else f"{total:.1f} GPU-hours"
        lines.append(f"total {rule}: {value}")
    lines.append("Jobs of every rule still to run: Snakemake's 'Job stats' table.")
    return "\n".join(lines)


def config_summary(
    config: dict[str, Any],
    datasets: list[DatasetSpec],
    runs: list[Run],
    cohort: CohortSpec | None,
    throughput_path: str | Path,
) -> str:
    """:func:`dry_run_summary` of a (validated) config: its datasets' planned test splits, its runs."""
    settings = EvalSettings.from_config(config["evaluation"])
    tests = {
        spec.name: (list(spec.modalities), spec.labelled, planned_split_sizes(spec, config["splits"], cohort)["test"])
        for spec in datasets
    }
    targets = eval_targets(tests, list(config["tasks"]["evaluated"]), settings)
    low, high = config["tasks"]["context"]["size"]
    header = "datasets: " + ", ".join(
        f"{spec.name} ({spec.n_subjects} subjects, {tests[spec.name][2]} test)" for spec in datasets
    )
    throughput = comparable_throughput(load_throughput(throughput_path), config)
    return dry_run_summary(runs, throughput, targets, settings, (low + high) / 2, header)


def slice_size(config: dict[str, Any]) -> tuple[int, int]:
    """``(H, W)`` of the config's 2D slices: the model grid without the slicing axis."""
    return slices.slice_size(config["preprocess"]["grid"]["shape"], config["preprocess"]["slices"]["axis"])


#: The hyperparameter that is a model's width where it is not ``channels`` (bench.train_speed writes it there).
WIDTH_KEYS = {"mvg": "embed_dim"}


def comparable_throughput(
    throughput: Mapping[str, Mapping[str, Any]], config: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """``throughput`` with every entry measured at another image size or width than ``config`` uses
    turned into "not measured" (``samples_per_s`` None and a ``note`` saying why): a rate measured at
    192×192 and 64 channels says nothing about a 48×48, 16-channel demo."""
    height, width = slice_size(config)
    out: dict[str, dict[str, Any]] = {}
    for model, entry in throughput.items():
        entry = dict(entry)
        width_key = WIDTH_KEYS.get(model, "channels")
        channels = config["models"]["hyperparameters"].get(model, {}).get(width_key, DEFAULT_CHANNELS)
        size, measured_channels = entry.get("image_size"), entry.get("channels")
        if entry["samples_per_s"] is not None and (
            size not in (None, height) or height != width or measured_channels not in (None, channels)
        ):
            entry["note"] = (
                f"measured at {size}x{size}, {measured_channels} channels; this config trains "
                f"{height}x{width}, {channels} channels: not comparable"
            )
            entry["samples_per_s"] = None
        out[model] = entry
    return out
