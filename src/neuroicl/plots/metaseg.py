"""MetaSeg's study figures: Dice against the test-time fitting steps T (its paper's Fig. 2) and Dice under
misalignment next to the U-Net, each a mean ± sd across the study's targets (:mod:`neuroicl.paper.metaseg_study`).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

from neuroicl.paper.metaseg_study import summarize

#: Line styles by legend name (MetaSeg as in Figs. 4 and 12; the others ours).
STYLES = {
    "MetaSeg": {"color": "tab:brown", "marker": "^"},
    "Random init": {"color": "tab:gray", "marker": "o", "linestyle": "--"},
    "U-Net": {"color": "tab:gray", "marker": "D"},
}


def _lines(axis, summary: pd.DataFrame, x: str, names: Mapping[str, str]) -> None:
    dice = summary[summary["metric"] == "dice"]
    for legend, model in names.items():
        part = dice[dice["model"] == model].sort_values(x)
        axis.errorbar(part[x], part["mean"], yerr=part["sd"].fillna(0), label=legend, capsize=2,
                      **STYLES.get(legend, {}))
    axis.set_ylim(0, 1)
    axis.set_ylabel("Dice (foreground)")
    axis.grid(alpha=0.3)


def steps_figure(table: pd.DataFrame, names: Mapping[str, str]) -> Figure:
    """Dice against T for each model (``names``: legend -> model column value); the Ts evenly spaced, in order."""
    summary = summarize(table, ["model", "steps"])
    steps = sorted(summary["steps"].unique())
    summary["position"] = summary["steps"].map({t: i for i, t in enumerate(steps)})
    figure, axis = plt.subplots(figsize=(4.5, 3.2), layout="constrained")
    _lines(axis, summary, "position", names)
    axis.set_xticks(range(len(steps)), [str(t) for t in steps])
    axis.set_xlabel("test-time fitting steps T")
    axis.set_title(f"MetaSeg: Dice against T ({int(summary['n'].max())} targets)")
    axis.legend(fontsize=8)
    return figure


def misalignment_figure(table: pd.DataFrame, names: Mapping[str, str]) -> Figure:
    """Dice against the rotation (degrees) and translation (% of the side) of the test image, one panel each."""
    summary = summarize(table, ["model", "kind", "level"])
    figure, axes = plt.subplots(1, 2, figsize=(8, 3.2), layout="constrained", sharey=True)
    for axis, kind in zip(axes, ("rotation", "translation"), strict=True):
        part = summary[summary["kind"] == kind].copy()
        if kind == "translation":
            part["level"] = 100 * part["level"]
        _lines(axis, part, "level", names)
        axis.set_xlabel("rotation (degrees)" if kind == "rotation" else "translation (% of the image side)")
        axis.set_title(f"{kind} of the test image")
    axes[1].set_ylabel("")
    axes[0].legend(fontsize=8)
    return figure
