"""Table 4 of the supplement: each model's score per task against the size of the train/context set.

The input is the tidy metrics table of the evaluation (:mod:`neuroicl.evaluation.metrics_table`).
The x-axis is "the size of the train/context set" (Fig. 4, Table 4): ``context_size`` for in-context rows,
``train_subjects`` for trained models (``all`` when ``all_subjects``, sorted after every number), none for
Identity (a reference line in the figures, one ``—`` row in the table). Only the primary metric of each task
family is kept (:data:`neuroicl.plan.families.PRIMARY`: Dice for masks, PSNR otherwise).

Two spreads, as the paper reports them (ddof = 1 throughout):

* ``spread="cases"`` — Table 4 ("Standard deviation across modalities and segmentation classes", its
  caption): scores are averaged within each case (input modality, and segmentation class where there is
  one) over subjects, slices and repeats; mean ± std across the cases.
* ``spread="subjects"`` — Figs. 4 and 12 ("The bars denote the standard deviation across subjects",
  Fig. 12's caption): scores are averaged within each subject (over repeats, slices, classes and
  modalities); mean ± std across the subjects.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from neuroicl.evaluation import metrics_table
from neuroicl.plan.families import PRIMARY

#: The evaluated tasks in Table 4 column order, with their column names.
TASKS = {
    "segmentation": "Segmentation",
    "modality_transfer": "Mod. Transfer",
    "super_resolution": "Super Res.",
    "skull_stripping": "Skull Strip.",
    "motion": "Motion Recon.",
    "undersampling": "Undersamp. Recon.",
    "denoising": "Noise Recon.",
    "inpainting": "Inpainting",
}

#: Row (and legend) order of the variants; others follow alphabetically.
VARIANTS = ("Neuralizer-seen", "Neuralizer-unseen", "Neuralizer (released)", "UniverSeg", "U-Net", "MetaSeg", "Floor",
            "Identity")

_DECIMALS = {"dice": 2, "psnr": 1}
#: What the ± of each spread is taken across, in words.
_ACROSS = {"subjects": "subjects", "cases": "input modalities and segmentation classes"}
ALL = "all"
NO_X = "—"
SUMMARY_COLUMNS = ("variant", "task", "metric", "x", "x_label", "mean", "std", "n", "spread")

#: What the ± of a summary is taken across: the groups each spread averages within first.
SPREADS = {"subjects": ["dataset", "subject"], "cases": ["modality", "label"]}


def _flag(values: pd.Series) -> pd.Series:
    """Booleans written as True/False, true/false or 1/0."""
    return values.astype(str).str.strip().str.lower().isin({"true", "1", "1.0", "yes"})


def _check(metrics: pd.DataFrame) -> None:
    metrics_table.check(metrics)
    unknown = sorted(set(metrics["task"]) - set(TASKS))
    if unknown:
        raise ValueError(f"metrics table has unknown tasks {unknown}; expected some of {list(TASKS)}")


def _x_axis(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Numeric x (``inf`` for all subjects, NaN for Identity) and its label per row."""
    context = pd.to_numeric(frame["context_size"], errors="coerce").to_numpy(float)
    subjects = pd.to_numeric(frame["train_subjects"], errors="coerce").to_numpy(float)
    in_context = ~np.isnan(context)
    reference = ~in_context & (frame["model"] == "identity").to_numpy()
    everything = ~in_context & ~reference & _flag(frame["all_subjects"]).to_numpy()
    trained = ~in_context & ~reference & ~everything
    if np.isnan(subjects[trained]).any():
        runs = sorted(set(frame.loc[trained & np.isnan(subjects), "run"]))
        raise ValueError(f"runs {runs} have neither context_size nor train_subjects; {metrics_table.FORMAT_HINT}")
    x = np.select([in_context, everything, trained], [context, np.inf, subjects], np.nan)
    labels = np.full(len(frame), NO_X, dtype=object)
    labels[in_context | trained] = [str(int(v)) for v in x[in_context | trained]]
    labels[everything] = ALL
    return x, labels


def _variant_rank(variants: pd.Series) -> pd.Series:
    known = {variant: i for i, variant in enumerate(VARIANTS)}
    others = {variant: len(VARIANTS) + i for i, variant in enumerate(sorted(set(variants) - set(known)))}
    return variants.map(known | others)


def summarize(metrics: pd.DataFrame, modality: str | None = None, spread: str = "subjects") -> pd.DataFrame:
    """Mean ± std of each variant's primary metric per task and x (Figs. 4 and 12; Table 4 with ``spread="cases"``).

    ``modality``: keep only rows whose input modality is exactly this (Fig. 12: ``"T1w"``); None keeps all.
    ``spread``: ``"subjects"`` (± across subjects) or ``"cases"`` (± across input modalities and
    segmentation classes); ``n`` counts the subjects or cases. Returns one row per (variant, task, x) with
    columns :data:`SUMMARY_COLUMNS`, sorted by variant (:data:`VARIANTS`), task (:data:`TASKS`) and x
    ascending (``all`` = ``inf`` last, Identity's x NaN).

    Example:
        >>> summary = summarize(metrics_table.read("results/evaluate/metrics.csv"), modality="T1w")
    """
    _check(metrics)
    if spread not in SPREADS:
        raise ValueError(f"spread must be one of {list(SPREADS)}, got {spread!r}")
    frame = metrics[metrics["metric"] == metrics["family"].map(PRIMARY)]
    if modality is not None:
        frame = frame[frame["modality"] == modality]
    frame = frame.assign(value=pd.to_numeric(frame["value"]))
    x, labels = _x_axis(frame)
    frame = frame.assign(x=x, x_label=labels)
    keys = ["variant", "task", "metric", "x", "x_label"]
    per_group = frame.groupby([*keys, *SPREADS[spread]], dropna=False, sort=False)["value"].mean()
    summary = per_group.groupby(level=keys, dropna=False, sort=False).agg(["mean", "std", "size"]).reset_index()
    summary = summary.rename(columns={"size": "n"}).astype({"x": float, "n": int}).assign(spread=spread)
    summary["std"] = summary["std"].fillna(0.0)
    order = summary.assign(_v=_variant_rank(summary["variant"]), _t=summary["task"].map(list(TASKS).index))
    order = order.sort_values(["_v", "variant", "_t", "x"], na_position="last", kind="stable")
    return order.loc[:, list(SUMMARY_COLUMNS)].reset_index(drop=True)


def _cell(metric: str, mean: float, std: float, pm: str) -> str:
    digits = _DECIMALS.get(metric, 3)
    return f"{mean:.{digits}f}{pm}{std:.{digits}f}"


def _layout(summary: pd.DataFrame, pm: str) -> tuple[list[str], list[tuple[str, str, list[str | None]]]]:
    """Task columns present (Table 4 order) and rows (variant, x label, cells; None where missing)."""
    tasks = [task for task in TASKS if task in set(summary["task"])]
    rows = []
    variants = summary.assign(_v=_variant_rank(summary["variant"])).sort_values(["_v", "variant"])["variant"]
    for variant in dict.fromkeys(variants):
        part = summary[summary["variant"] == variant]
        xs = part.drop_duplicates("x_label").sort_values("x", ascending=False, na_position="first")
        for label in xs["x_label"]:
            cells = []
            for task in tasks:
                hit = part[(part["x_label"] == label) & (part["task"] == task)]
                row = hit.iloc[0] if len(hit) else None
                cells.append(None if row is None else _cell(row["metric"], row["mean"], row["std"], pm))
            rows.append((variant, label, cells))
    return [TASKS[task] for task in tasks], rows


def to_markdown(summary: pd.DataFrame) -> str:
    """Table 4 as a Markdown pipe table: rows (variant, train/context size), one column per task present."""
    header, rows = _layout(summary, " ± ")
    lines = [
        "| " + " | ".join(["Model", "Subjects", *header]) + " |",
        "| " + " | ".join([":--", "--:"] + [":-:"] * len(header)) + " |",
    ]
    for variant, label, cells in rows:
        shown = [variant.replace("|", "\\|"), label] + [cell or "–" for cell in cells]
        lines.append("| " + " | ".join(shown) + " |")
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    for char, escaped in {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_"}.items():
        text = text.replace(char, escaped)
    return text.replace("—", "---").replace("–", "--")


def to_latex(summary: pd.DataFrame) -> str:
    """Table 4 as a booktabs ``tabular`` (for ``\\input``): the variant on its first row, a rule between variants."""
    header, rows = _layout(summary, r" $\pm$ ")
    across = _ACROSS[summary["spread"].iloc[0]] if len(summary) else "subjects"
    lines = [
        f"% Table 4: Dice (segmentation, skull stripping) or PSNR in dB (other tasks), mean $\\pm$ std across {across}",
        r"\begin{tabular}{ll" + "c" * len(header) + "}",
        r"\toprule",
        " & ".join(["Model", "Subjects", *map(_escape, header)]) + r" \\",
        r"\midrule",
    ]
    previous = None
    for variant, label, cells in rows:
        if previous is not None and variant != previous:
            lines.append(r"\midrule")
        name = _escape(variant) if variant != previous else ""
        lines.append(" & ".join([name, _escape(label)] + [cell or "--" for cell in cells]) + r" \\")
        previous = variant
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"
