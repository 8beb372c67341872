"""Score against the size of the train/context set, one panel per task (paper Fig. 4; Fig. 12 on T1w only)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import pyplot as plt
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import NullLocator

from neuroicl.paper.table4 import TASKS, VARIANTS, summarize

#: The performance figures: name -> (input modality kept, None = all; title).
FIGURES: dict[str, tuple[str | None, str]] = {"fig4": (None, "All modalities"), "fig12": ("T1w", "T1w input only")}

#: Line style per variant (paper: Neuralizer-seen orange, Neuralizer-unseen blue, task-specific baselines grey).
STYLES = {
    "Neuralizer-seen": {"color": "tab:orange", "linestyle": "-", "marker": "o"},
    "Neuralizer-unseen": {"color": "tab:blue", "linestyle": "-", "marker": "o"},
    "Neuralizer (released)": {"color": "tab:orange", "linestyle": "--", "marker": "x"},
    "UniverSeg": {"color": "tab:green", "linestyle": "-", "marker": "s"},
    "U-Net": {"color": "tab:gray", "linestyle": "-", "marker": "D"},
    "MetaSeg": {"color": "tab:brown", "linestyle": "-", "marker": "^"},
    "Floor": {"color": "black", "linestyle": ":", "marker": "."},
    "Identity": {"color": "tab:gray", "linestyle": "--", "marker": ""},
}
_OTHER = {"color": "tab:purple", "linestyle": "-.", "marker": "v"}
_YLABEL = {"dice": "Dice", "psnr": "PSNR (dB)"}
_DODGE = 0.05  # log2 units between variants at one x, so that error bars do not hide each other


def _ticks(summary: pd.DataFrame) -> tuple[list[float], list[str]]:
    """Powers of two up to the largest x, then ``all`` one power further (positions on the log2 axis)."""
    finite = summary["x"][np.isfinite(summary["x"])]
    top = 2 ** math.ceil(math.log2(finite.max())) if len(finite) else 1
    positions = [2.0**k for k in range(int(math.log2(top)) + 1)]
    labels = [str(int(p)) for p in positions]
    if np.isinf(summary["x"]).any():
        positions.append(2.0 * top)
        labels.append("all")
    return positions, labels


def performance_figure(metrics: pd.DataFrame, modality: str | None = None, title: str | None = None) -> Figure:
    """One panel per task present (4 per row): mean ± std across subjects of each variant against x.

    ``metrics``: the tidy metrics table (:mod:`neuroicl.evaluation.metrics_table`); ``modality``: keep only that
    input modality (Fig. 12: ``"T1w"``). Identity is a dashed horizontal line at its mean.
    """
    summary = summarize(metrics, modality)
    if summary.empty:
        raise ValueError(f"no rows to plot (modality={modality!r}); check the metrics table and the filter")
    positions, labels = _ticks(summary)
    where_all = positions[-1] if labels[-1] == "all" else np.inf
    tasks = [task for task in TASKS if task in set(summary["task"])]
    variants = list(dict.fromkeys(summary["variant"]))
    columns = min(4, len(tasks))
    rows = math.ceil(len(tasks) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.0 * columns, 2.6 * rows + 0.5), squeeze=False)
    for ax in axes.flat[len(tasks) :]:
        fig.delaxes(ax)
    for ax, task in zip(axes.flat, tasks, strict=False):
        part = summary[summary["task"] == task]
        for i, variant in enumerate(variants):
            line = part[part["variant"] == variant]
            style = STYLES.get(variant, _OTHER)
            if line.empty:
                continue
            if line["x"].isna().all():
                ax.axhline(line["mean"].mean(), color=style["color"], linestyle=style["linestyle"], linewidth=1.2)
                continue
            x = np.where(np.isinf(line["x"]), where_all, line["x"]) * 2 ** (_DODGE * (i - (len(variants) - 1) / 2))
            ax.errorbar(x, line["mean"], yerr=line["std"], capsize=2, linewidth=1.2, markersize=3.5, **style)
        ax.set_xscale("log", base=2)
        ax.set_xticks(positions, labels)
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlim(positions[0] / 1.4, positions[-1] * 1.4)
        ax.set_title(TASKS[task], fontsize=10)
        ax.set_ylabel(_YLABEL.get(part["metric"].iloc[0], part["metric"].iloc[0]))
        ax.grid(alpha=0.3)
    for i, ax in enumerate(axes.flat[: len(tasks)]):
        if i + columns >= len(tasks):  # nothing below it
            ax.set_xlabel("train/context set size")
    handles = [Line2D([], [], label=v, **STYLES.get(v, _OTHER)) for v in VARIANTS if v in variants]
    handles += [Line2D([], [], label=v, **_OTHER) for v in variants if v not in VARIANTS]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False)
    if title:
        fig.suptitle(title)
    sns.despine(fig=fig)
    fig.tight_layout(rect=(0, 0.06 if rows > 1 else 0.1, 1, 1))
    return fig
