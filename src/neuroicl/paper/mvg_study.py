"""MVG's own outputs as tables and claims: its Table 5 ablation and its metrics, at one prompt (L = 1).

Both tables are read off the pipeline's per-run metrics tables (:mod:`neuroicl.evaluation.metrics_table`): every
run is scored on the same test targets, so the ablation's rows compare like with like (checked). A mean is taken
over the targets at L = 1 (test subject × case × repeat; each target counts once; the input itself, which takes
no context, at its one score), ``sd`` is the standard deviation across them and ``n`` their number. MVG's paper
reports mIoU for segmentation and MAE, PSNR and SSIM for the image tasks (Sec. 4.1, Evaluation); our mIoU is the
mean of the per-target foreground IoU (:func:`neuroicl.core.metrics.iou_score`).

Example:
    >>> metrics = metrics_table.concat(paths)  # the runs' metrics.csv
    >>> table = ablation_table(metrics, study.ablation_rows())
    >>> print(ablation_markdown(table))
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from neuroicl.paper.claims import FLOOR, IDENTITY, claim_row
from neuroicl.plan.families import outputs_image
from neuroicl.plan.mvg_study import CONTEXT_SIZE, TASK

#: MVG's metrics per output kind (its paper's Sec. 4.1): mIoU for masks, MAE / PSNR / SSIM for images.
MASK_METRICS, IMAGE_METRICS = ("iou",), ("mae", "psnr", "ssim")
#: The ablation's metrics: Dice (the comparison's) and IoU (MVG's mIoU).
ABLATION_METRICS = ("dice", "iou")
#: Column headers of the metrics.
SHOWN = {"dice": "Dice", "iou": "mIoU", "mae": "MAE", "psnr": "PSNR (dB)", "ssim": "SSIM"}
#: Decimals of each metric in the Markdown tables.
DECIMALS = {"dice": 3, "iou": 3, "mae": 4, "psnr": 2, "ssim": 3}
#: Columns of the ablation table and of MVG's metrics table.
ABLATION_COLUMNS = ("part", "setting", "run", "metric", "mean", "sd", "n")
TASKS_COLUMNS = ("task", "model", "run", "metric", "mean", "sd", "n")
#: Columns that identify a target (the same rows for every run scored on it).
TARGET = ("dataset", "subject", "slice", "repeat", "modality", "target_modality", "label")

#: "Beats" in the ablation's claims: by more than this many mIoU (ours; the paper gives no test or threshold, only
#: its mean gaps over nine datasets: AR over MIM 50 % and 75 % 0.25 and 0.27, random over binary colours 0.25,
#: unified over isolated training 0.14 — the margin is about a third of the smallest).
CLEAR_MARGIN = 0.05
#: "Beats" against the references (floor, input itself): by more than this (the direction only, as the claims
#: table's other floors).
REFERENCE_MARGIN = 0.0


def at_one_prompt(metrics: pd.DataFrame) -> pd.DataFrame:
    """The rows scored with one prompt (L = 1), and those of predictors that take no context."""
    size = metrics["context_size"]
    return metrics[(size == CONTEXT_SIZE) | size.isna()]


def _summary(rows: pd.DataFrame, metric: str) -> dict:
    """Mean, sd (0 for one target) and n of ``metric``'s values among ``rows``."""
    values = rows.loc[rows["metric"] == metric, "value"].astype(float)
    sd = float(values.std()) if len(values) > 1 else (0.0 if len(values) else np.nan)
    return {"metric": metric, "mean": float(values.mean()) if len(values) else np.nan, "sd": sd, "n": len(values)}


def _targets(rows: pd.DataFrame) -> set[tuple]:
    return set(rows.loc[:, list(TARGET)].astype(str).itertuples(index=False, name=None))


def ablation_table(metrics: pd.DataFrame, rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """The Table 5 ablation (:data:`ABLATION_COLUMNS`): for each (part, setting, run) of ``rows``, mean ± sd over the
    segmentation targets at L = 1 of Dice and IoU. ``metrics``: the metrics tables of the rows' runs, joined.

    Raises:
        ValueError: a run has no segmentation score at L = 1, or two runs were scored on different targets.
    """
    seg = at_one_prompt(metrics[metrics["task"] == TASK])
    out, seen = [], {}
    for part, setting, run in rows:
        mine = seg[seg["run"] == run]
        if mine.empty:
            raise ValueError(f"MVG ablation: run {run!r} has no {TASK} score at L = {CONTEXT_SIZE} in its metrics")
        seen.setdefault(run, _targets(mine[mine["metric"] == ABLATION_METRICS[0]]))
        out += [{"part": part, "setting": setting, "run": run, **_summary(mine, metric)} for metric in ABLATION_METRICS]
    first = next(iter(seen), None)
    differ = [run for run, targets in seen.items() if targets != seen[first]]
    if differ:
        raise ValueError(f"MVG ablation: runs {differ} were scored on other {TASK} targets than {first!r}; "
                         "every run must be scored by the pipeline's evaluation on the same test split")
    return pd.DataFrame(out, columns=list(ABLATION_COLUMNS))


def tasks_table(metrics: pd.DataFrame, tasks: list[str], runs: dict[str, str]) -> pd.DataFrame:
    """MVG's metrics table (:data:`TASKS_COLUMNS`): for each task of ``tasks`` and each model of ``runs``
    (legend -> run: MVG, the floor, the input itself), mean ± sd over the targets at L = 1 of MVG's metrics of the
    task (:data:`MASK_METRICS` or :data:`IMAGE_METRICS`). A run not scored on a task (the input itself on a mask
    task) gives no row."""
    one = at_one_prompt(metrics)
    out = []
    for task in tasks:
        for legend, run in runs.items():
            mine = one[(one["task"] == task) & (one["run"] == run)]
            if mine.empty:
                continue
            out += [{"task": task, "model": legend, "run": run, **_summary(mine, metric)}
                    for metric in (IMAGE_METRICS if outputs_image(task) else MASK_METRICS)]
    return pd.DataFrame(out, columns=list(TASKS_COLUMNS))


def _cell(table: pd.DataFrame, metric: str, **where) -> str:
    part = table[table["metric"] == metric]
    for key, value in where.items():
        part = part[part[key] == value]
    if part.empty or np.isnan(part["mean"].iloc[0]):
        return "–"
    digits = DECIMALS[metric]
    return f"{part['mean'].iloc[0]:.{digits}f} ± {part['sd'].iloc[0]:.{digits}f}"


def ablation_markdown(table: pd.DataFrame) -> str:
    """The ablation as Markdown, one line per row of :func:`ablation_table` in its order (the paper's Table 5)."""
    lines = ["| ablation | setting | run | Dice | mIoU | targets |", "| :-- | :-- | :-- | --: | --: | --: |"]
    for (part, setting, run), rows in table.groupby(["part", "setting", "run"], sort=False):
        cells = [_cell(rows, metric) for metric in ABLATION_METRICS]
        lines.append(f"| {part} | {setting} | {run} | {' | '.join(cells)} | {int(rows['n'].max())} |")
    return "\n".join(lines) + "\n"


def tasks_markdown(table: pd.DataFrame) -> str:
    """MVG's metrics table as Markdown: one line per task and model; mIoU for masks, MAE / PSNR / SSIM for images."""
    metrics = (*MASK_METRICS, *IMAGE_METRICS)
    lines = ["| task | model | " + " | ".join(SHOWN[m] for m in metrics) + " | targets |",
             "| :-- | :-- |" + " --: |" * len(metrics) + " --: |"]
    for (task, model), rows in table.groupby(["task", "model"], sort=False):
        cells = [_cell(rows, metric) for metric in metrics]
        lines.append(f"| {task} | {model} | {' | '.join(cells)} | {int(rows['n'].max())} |")
    return "\n".join(lines) + "\n"


def _mean(table: pd.DataFrame, metric: str, **where) -> float | None:
    part = table[table["metric"] == metric]
    for key, value in where.items():
        part = part[part[key] == value]
    return None if part.empty or np.isnan(part["mean"].iloc[0]) else float(part["mean"].iloc[0])


def _beats(claim: str, task: str, measured: str, value: float | None, reference: str, other: float | None,
           margin: float) -> dict:
    shown = f"{reference} + {margin:g}" if margin else reference
    return claim_row(claim, task, measured, value, shown, None if other is None else other + margin,
                     None if value is None or other is None else value > other + margin)


def mvg_claims(ablation: pd.DataFrame | None, tasks: pd.DataFrame) -> list[dict]:
    """MVG's claims from its tables (:func:`ablation_table`, None without the ablation; :func:`tasks_table`):

    * Table 5c: AR training beats MIM with 50 % and with 75 % masks on segmentation (mIoU, by
      :data:`CLEAR_MARGIN`); Table 5a: random colours beat binary ones; Table 5b: unified training beats isolated;
    * its metrics: MVG at L = 1 beats the floor at L = 1 on each mask task (mIoU) and the input itself on each
      image task (PSNR) it is trained on (by :data:`REFERENCE_MARGIN`); the references are the rows named
      :data:`neuroicl.paper.claims.FLOOR` and ``IDENTITY`` (:meth:`neuroicl.plan.mvg_study.MVGStudy.task_names`),
      every other model of ``tasks`` is measured against them.
    """
    rows = []
    if ablation is not None:
        pairs = [("AR training beats {other} training on segmentation (mIoU)", ("mask strategy", "AR"),
                  ("mask strategy", other)) for other in ("MIM 50 %", "MIM 75 %")]
        pairs += [("Random colours beat binary colours on segmentation (mIoU)", ("colours", "random"),
                   ("colours", "binary")),
                  ("Unified training beats isolated training on segmentation (mIoU)", ("training", "unified"),
                   ("training", "isolated"))]
        for claim, (part, setting), (other_part, other_setting) in pairs:
            value, other = (_mean(ablation, "iou", part=p, setting=s)
                            for p, s in ((part, setting), (other_part, other_setting)))
            rows.append(_beats(f"MVG (Table 5): {claim.format(other=other_setting)}", TASK,
                               f"MVG ({setting}, L = {CONTEXT_SIZE})", value,
                               f"MVG ({other_setting}, L = {CONTEXT_SIZE})", other, CLEAR_MARGIN))
    measured = [model for model in dict.fromkeys(tasks["model"]) if model not in (FLOOR, IDENTITY)]
    for task in dict.fromkeys(tasks["task"]):
        image = outputs_image(task)
        metric, reference = ("psnr", IDENTITY) if image else ("iou", FLOOR)
        shown = f"{reference} (L = {CONTEXT_SIZE})" if not image else reference
        for name in measured:
            value = _mean(tasks, metric, task=task, model=name)
            other = _mean(tasks, metric, task=task, model=reference)
            rows.append(_beats(f"MVG at one prompt beats the {'input itself' if image else 'floor'} "
                               f"({'PSNR' if image else 'mIoU'})", task, f"{name} (L = {CONTEXT_SIZE})", value,
                               shown, other, REFERENCE_MARGIN))
    return rows
