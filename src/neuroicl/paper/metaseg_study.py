"""MetaSeg's study as tables and claims: means of the per-target tables of :mod:`neuroicl.evaluation.metaseg_study`.

A mean is taken over every target of the study's classes (each target counts once), per model and setting;
``sd`` is the standard deviation across targets and ``n`` their number.

Example:
    >>> means = summarize(pd.read_csv("results/tables/metaseg_steps.csv"), ["model", "steps"])
    >>> print(ablation_markdown(summarize(ablation, ["model"]), names))
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from neuroicl.paper.claims import claim_row

#: "Clear margin" of meta-learned over random initialisation, in Dice (ours: the paper gives no number).
CLEAR_MARGIN = 0.10
#: "Most of" the Dice at T = 50, as a fraction (ours).
MOST = 0.8
#: The task every study claim is about.
TASK = "segmentation"
#: The T of the early-steps claim (the paper's "2-5 steps": its upper end) and of the reference.
EARLY, REFERENCE_STEPS = 5, 50


def summarize(table: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Mean, sd and n of ``value`` per ``by`` and metric."""
    grouped = table.groupby([*by, "metric"], sort=False)["value"]
    return grouped.agg(mean="mean", sd="std", n="count").reset_index()


def _mean(summary: pd.DataFrame, metric: str = "dice", **where) -> float | None:
    part = summary[summary["metric"] == metric]
    for key, value in where.items():
        part = part[part[key] == value]
    return float(part["mean"].iloc[0]) if len(part) else None


def ablation_markdown(summary: pd.DataFrame, names: Mapping[str, str]) -> str:
    """The ablation (MetaSeg's Table 2) as Markdown: one row per initialisation (``names``: legend -> run), mean ±
    sd of foreground Dice and of generalised Dice."""
    lines = ["| initialisation | Dice (foreground) | generalised Dice (with background) | targets |",
             "| :-- | --: | --: | --: |"]
    for legend, run in names.items():
        cells = []
        for metric in ("dice", "generalised_dice"):
            row = summary[(summary["model"] == run) & (summary["metric"] == metric)]
            cells.append(f"{row['mean'].iloc[0]:.3f} ± {row['sd'].iloc[0]:.3f}" if len(row) else "–")
        n = summary.loc[summary["model"] == run, "n"]
        lines.append(f"| {legend} | {cells[0]} | {cells[1]} | {int(n.iloc[0]) if len(n) else 0} |")
    return "\n".join(lines) + "\n"


def steps_markdown(summary: pd.DataFrame, names: Mapping[str, str]) -> str:
    """Dice (foreground) against the fitting steps T, one column per model (``names``: legend -> model)."""
    steps = sorted(summary["steps"].unique())
    lines = ["| T | " + " | ".join(names) + " |", "| --: |" + " --: |" * len(names)]
    for t in steps:
        cells = [_mean(summary, model=model, steps=t) for model in names.values()]
        lines.append(f"| {t} | " + " | ".join("–" if c is None else f"{c:.3f}" for c in cells) + " |")
    return "\n".join(lines) + "\n"


def misalignment_markdown(summary: pd.DataFrame, names: Mapping[str, str]) -> str:
    """Dice (foreground) under each misalignment level, one column per model (``names``: legend -> model)."""
    lines = ["| misalignment | level | " + " | ".join(names) + " |", "| :-- | --: |" + " --: |" * len(names)]
    for (kind, level), _ in summary.groupby(["kind", "level"], sort=False):
        cells = [_mean(summary, model=model, kind=kind, level=level) for model in names.values()]
        shown = f"{level:g}°" if kind == "rotation" else f"{100 * level:g} %"
        lines.append(f"| {kind} | {shown} | " + " | ".join("–" if c is None else f"{c:.3f}" for c in cells) + " |")
    return "\n".join(lines) + "\n"


def study_claims(steps: pd.DataFrame, ablation: pd.DataFrame, meta: str, random: str, image_only: str
                 ) -> list[dict]:
    """The study's claims, from the summaries (:func:`summarize`) of Dice against T (by model, steps) and of the
    ablation (by model): meta-learned init beats random init by :data:`CLEAR_MARGIN` at every T <= 50; MetaSeg
    (image + mask) beats image-only meta-learning; Dice after :data:`EARLY` steps is :data:`MOST` of Dice at 50.
    ``meta``, ``random``, ``image_only``: the model names of those rows."""
    rows = []
    for t in sorted(t for t in steps["steps"].unique() if t <= REFERENCE_STEPS):
        value, other = _mean(steps, model=meta, steps=t), _mean(steps, model=random, steps=t)
        rows.append(claim_row(
            f"MetaSeg's meta-learned init beats random init at T <= {REFERENCE_STEPS} by {CLEAR_MARGIN:g} Dice", TASK,
            f"MetaSeg (T = {t})", value, f"Random init (T = {t}) + {CLEAR_MARGIN:g}",
            None if other is None else other + CLEAR_MARGIN,
            None if value is None or other is None else value >= other + CLEAR_MARGIN))
    for metric, shown in (("dice", "Dice"), ("generalised_dice", "generalised Dice")):
        value, other = _mean(ablation, metric, model=meta), _mean(ablation, metric, model=image_only)
        rows.append(claim_row(f"MetaSeg (image + mask) beats image-only meta-learning ({shown})", TASK, "MetaSeg",
                              value, "Meta-learned, image only", other,
                              None if value is None or other is None else value > other))
    early, final = _mean(steps, model=meta, steps=EARLY), _mean(steps, model=meta, steps=REFERENCE_STEPS)
    rows.append(claim_row(
        f"MetaSeg's Dice after {EARLY} steps is most ({MOST:.0%}) of its Dice at T = {REFERENCE_STEPS}", TASK,
        f"MetaSeg (T = {EARLY})", early, f"{MOST:.0%} of MetaSeg (T = {REFERENCE_STEPS})",
        None if final is None else MOST * final, None if early is None or final is None else early >= MOST * final))
    return rows
