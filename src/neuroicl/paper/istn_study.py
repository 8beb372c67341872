"""ISTN's Tables 2-3 (Robinson et al. 2020) and its claims, from the study's scores
(:mod:`neuroicl.evaluation.istn_study`).

The table has the paper's layout per task and source -> target pair: one row per ITN / STN combination (the first,
"no / no", is T_S on the target: no adaptation), one column pair per direction (uni-directional, bi-directional =
CycleGAN) and task-model start (s: retrained from scratch, f: fine-tuned from T_S), each a score and its Δ against no
adaptation, signed so that a positive Δ is an improvement (Table 3's MAE Δ is a decrease); below, the single-site
ceiling T_S(S). Scores are means over subjects: accuracy in % (sex), MAE in years (age), Dice (segmentation).

Example:
    >>> summary = summarize(pd.concat(pd.read_csv(path) for path in score_files))
    >>> markdown = tables_markdown(summary)
    >>> rows = istn_claims(summary)
"""

from __future__ import annotations

import pandas as pd

from neuroicl.paper.claims import claim_row
from neuroicl.plan.istn_study import Variant

#: Each metric's name in the tables, its scale (accuracy in %), and whether higher is better.
METRICS = {"accuracy": ("Acc (%)", 100.0, True), "mae": ("MAE (years)", 1.0, False), "dice": ("Dice", 1.0, True)}
#: The share of the domain-shift loss an adapted model must win back for the claim ("a clear part", ours).
RECOVERY = 1 / 3
#: The share of the way from chance to a perfect score the single-site ceiling of a covariate task must cover for
#: "well above chance" (the issue's; the threshold is ours): accuracy ≥ chance + ½(100 % − chance), MAE ≤ ½ chance's.
WELL_ABOVE = 1 / 2
#: Table rows: (ITN, STN) of each mode, in Table 2's order.
ROWS = {"itn": ("yes", "no"), "affine": ("no", "affine"), "bspline": ("no", "B-spline"),
        "itn+affine": ("yes", "affine"), "itn+bspline": ("yes", "B-spline")}
DIRECTIONS = {"uni": "Uni-ISTN", "bi": "Bi-ISTN (CycleGAN)"}
SOURCE, CHANCE = "source", "chance"
#: Models of the scores that are no adapted variant.
REFERENCES = (SOURCE, CHANCE)


def summarize(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per task, pair, model and domain: the mean, sd and number of subjects of the metric (in the tables'
    scale), the variant's mode / direction / init, and the ``label_sites`` its training read."""
    keys = ["task", "pair", "model", "domain", "metric"]
    summary = scores.groupby(keys, sort=False).agg(mean=("value", "mean"), sd=("value", "std"), n=("value", "size"),
                                                   label_sites=("label_sites", "first")).reset_index()
    scale = summary["metric"].map(lambda m: METRICS[m][1])
    summary["mean"], summary["sd"] = summary["mean"] * scale, summary["sd"] * scale
    variants = summary["model"].map(lambda m: None if m in REFERENCES else Variant.from_name(m))
    for key in ("mode", "direction", "init"):
        summary[key] = variants.map(lambda v, key=key: None if v is None else getattr(v, key))
    return summary


def _value(summary: pd.DataFrame, task: str, pair: str, model: str, domain: str) -> float | None:
    part = summary[(summary["task"] == task) & (summary["pair"] == pair) & (summary["model"] == model)
                   & (summary["domain"] == domain)]
    return None if part.empty else float(part["mean"].iloc[0])


def _better(metric: str) -> bool:
    return METRICS[metric][2]


def _delta(metric: str, value: float, baseline: float) -> float:
    """The improvement over no adaptation (positive = better)."""
    return value - baseline if _better(metric) else baseline - value


def references(summary: pd.DataFrame, task: str, pair: str) -> tuple[str, float | None, float | None]:
    """(metric, the single-site ceiling T_S(S), no adaptation T_S(T)) of a task and pair."""
    metric = summary.loc[summary["task"] == task, "metric"].iloc[0]
    return (metric, _value(summary, task, pair, SOURCE, "source"), _value(summary, task, pair, SOURCE, "target"))


def well_above(metric: str, chance: float) -> float:
    """The score the ceiling must reach to be well above ``chance`` (:data:`WELL_ABOVE`; tables' scale)."""
    return chance + WELL_ABOVE * (METRICS[metric][1] - chance) if _better(metric) else (1 - WELL_ABOVE) * chance


def _cell(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def table_markdown(summary: pd.DataFrame, task: str, pair: str) -> str:
    """The Table 2-3 layout of one task and pair (module docstring)."""
    metric, ceiling, baseline = references(summary, task, pair)
    name, _, _ = METRICS[metric]
    digits = 1 if metric == "accuracy" else 2 if metric == "mae" else 3
    part = summary[(summary["task"] == task) & (summary["pair"] == pair) & ~summary["model"].isin(REFERENCES)]
    columns = [(d, i) for d in DIRECTIONS for i in ("scratch", "finetune")
               if ((part["direction"] == d) & (part["init"] == i)).any()]
    n_target = summary.loc[(summary["task"] == task) & (summary["pair"] == pair) & (summary["model"] == SOURCE)
                           & (summary["domain"] == "target"), "n"]
    source, target = pair.split("-")
    lines = [f"### {task}: {source} → {target} ({name}; mean over {int(n_target.iloc[0]) if len(n_target) else 0} "
             "target subjects; Δ: improvement over no adaptation)", "",
             "| ITN | STN | " + " | ".join(f"{DIRECTIONS[d]} {name} ({i[0]}) | Δ" for d, i in columns) + " |",
             "|---|---|" + "---|---|" * len(columns)]
    lines.append("| no | no | " + " | ".join(f"{_cell(baseline, digits)} | " for _ in columns) + " |")
    for mode, (itn, stn) in ROWS.items():
        if not (part["mode"] == mode).any():
            continue
        cells = []
        for direction, init in columns:
            value = _value(summary, task, pair, Variant(mode, direction, init).name, "target")
            delta = None if value is None or baseline is None else _delta(metric, value, baseline)
            cells.append(f"{_cell(value, digits)} | {'–' if delta is None else f'{delta:+.{digits}f}'}")
        lines.append(f"| {itn} | {stn} | " + " | ".join(cells) + " |")
    lines += ["", f"Single-site ceiling T_S({source}) on {source}'s test subjects: {_cell(ceiling, digits)}; "
              f"no adaptation T_S({target}): {_cell(baseline, digits)}."]
    chance = _value(summary, task, pair, CHANCE, "source")
    if chance is not None:
        lines[-1] += (f" Chance (the {source} training subjects' {'majority' if metric == 'accuracy' else 'mean'} for "
                      f"every subject): {_cell(chance, digits)} on {source}, "
                      f"{_cell(_value(summary, task, pair, CHANCE, 'target'), digits)} on {target}.")
    lines.append("")
    return "\n".join(lines)


def tables_markdown(summary: pd.DataFrame) -> str:
    """Every task and pair's table, tasks in the summary's order."""
    parts = ["## ISTN: image-level domain adaptation (Robinson et al. 2020, Tables 2-3)", ""]
    for task in summary["task"].unique():
        for pair in summary.loc[summary["task"] == task, "pair"].unique():
            parts.append(table_markdown(summary, task, pair))
    return "\n".join(parts)


def istn_claims(summary: pd.DataFrame) -> list[dict]:
    """Per task and pair: for a covariate task, T_S's single-site ceiling is well above chance (:data:`WELL_ABOVE`);
    T_S loses on the target site; each adapted model wins back at least :data:`RECOVERY` of that loss; no model's
    training or selection read a label of the target site."""
    rows = []
    for task in summary["task"].unique():
        for pair in summary.loc[summary["task"] == task, "pair"].unique():
            metric, ceiling, baseline = references(summary, task, pair)
            source, target = pair.split("-")
            known = ceiling is not None and baseline is not None
            chance = _value(summary, task, pair, CHANCE, "source")
            if chance is not None:
                needed = well_above(metric, chance)
                rows.append(claim_row(
                    f"The single-site ceiling is well above chance ({WELL_ABOVE:.0%} of the way to perfect)", task,
                    f"T_S({source}), single-site ceiling", ceiling, f"chance + {WELL_ABOVE:.0%} of the way", needed,
                    None if ceiling is None else (ceiling >= needed if _better(metric) else ceiling <= needed)))
            rows.append(claim_row(
                f"A task model trained on {source} loses {metric} on {target} (domain shift)", task,
                f"T_S({target})", baseline, f"T_S({source}), single-site ceiling", ceiling,
                None if not known else (baseline < ceiling if _better(metric) else baseline > ceiling)))
            part = summary[(summary["task"] == task) & (summary["pair"] == pair) & ~summary["model"].isin(REFERENCES)]
            for model in part["model"].unique():
                value = _value(summary, task, pair, model, "target")
                needed = None if not known else baseline + RECOVERY * (ceiling - baseline)
                lost = needed is not None and _delta(metric, ceiling, baseline) > 0
                holds = None if value is None or not lost else (value >= needed if _better(metric) else value <= needed)
                rows.append(claim_row(
                    f"ISTN adaptation recovers at least {RECOVERY:.0%} of the loss on {target}", task,
                    f"T_S2T ({model})", value, f"T_S({target}) + {RECOVERY:.0%} of the loss", needed, holds))
            read = summary[(summary["task"] == task) & (summary["pair"] == pair)]["label_sites"].astype(str)
            leaks = sum(target in sites.split(";") for sites in read)
            rows.append(claim_row(f"No training or model selection read a label of {target}", task,
                                  "models whose training read target labels", float(leaks), "none", 0.0,
                                  leaks == 0))
    return rows
