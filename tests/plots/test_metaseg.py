"""MetaSeg's study figures render from per-target tables."""

from __future__ import annotations

import pandas as pd
from matplotlib import pyplot as plt

from neuroicl.plots.metaseg import misalignment_figure, steps_figure


def test_both_figures_draw_one_line_per_model():
    steps = pd.DataFrame([{"model": m, "steps": t, "target": j, "metric": "dice", "value": v + 0.01 * j}
                          for m, v in (("a", 0.7), ("b", 0.2)) for t in (0, 2, 50, 200) for j in range(2)])
    figure = steps_figure(steps, {"MetaSeg": "a", "Random init": "b"})
    assert len(figure.axes[0].get_legend().get_texts()) == 2
    plt.close(figure)
    moved = pd.DataFrame([{"model": m, "kind": k, "level": lv, "target": 0, "metric": "dice", "value": 0.5}
                          for m in ("a", "b") for k, levels in (("rotation", (0, 10)), ("translation", (0, 0.1)))
                          for lv in levels])
    figure = misalignment_figure(moved, {"MetaSeg": "a", "U-Net": "b"})
    assert len(figure.axes) == 2 and figure.axes[1].get_xlabel().startswith("translation")
    plt.close(figure)
