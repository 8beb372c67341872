"""Fig. 4/12 curves: one panel per task, a legend entry per variant, the log2 axis with "all", Identity lines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib import pyplot as plt

from neuroicl.evaluation.metrics_table import COLUMNS
from neuroicl.plots.curves import performance_figure

FAMILY = {"segmentation": "segmentation", "skull_stripping": "skull_strip", "denoising": "reconstruction",
          "motion": "reconstruction", "modality_transfer": "transfer"}


def metrics(tasks=("segmentation", "denoising"), modality: str = "T1w") -> pd.DataFrame:
    """Two subjects; Neuralizer-seen at L = 1, 2, 4, 8, U-Net at 1 and all (3), Identity on non-mask tasks."""
    rows = []
    for task in tasks:
        family = FAMILY[task]
        metric = "dice" if family in ("segmentation", "skull_strip") else "psnr"
        base = {"task": task, "family": family, "metric": metric, "dataset": "toy", "slice": 0, "repeat": 0,
                "modality": modality, "target_modality": "", "label": ""}
        for s, subject in enumerate(("sub-001", "sub-002")):
            base |= {"subject": subject}
            seen = {"run": "neuralizer-seen", "model": "neuralizer", "variant": "Neuralizer-seen",
                    "train_subjects": 3, "all_subjects": True}
            rows += [base | seen | {"context_size": size, "value": 0.1 * size} for size in (1, 2, 4, 8)]
            unet = {"model": "unet", "variant": "U-Net", "context_size": np.nan}
            rows += [base | unet | {"run": f"unet-{task}-n{n}", "train_subjects": n, "all_subjects": n == 3,
                                    "value": 0.2 * n} for n in (1, 3)]
            if metric == "psnr":
                rows.append(base | {"run": "identity", "model": "identity", "variant": "Identity", "train_subjects": 0,
                                    "all_subjects": False, "context_size": np.nan, "value": 20.0 + 2 * s})
    return pd.DataFrame(rows, columns=list(COLUMNS))


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_one_panel_per_task_in_table4_order():
    fig = performance_figure(metrics(("motion", "skull_stripping", "segmentation", "denoising", "modality_transfer")))
    assert [ax.get_title() for ax in fig.axes] == ["Segmentation", "Mod. Transfer", "Skull Strip.", "Motion Recon.",
                                                   "Noise Recon."]
    assert [ax.get_ylabel() for ax in fig.axes] == ["Dice", "PSNR (dB)", "Dice", "PSNR (dB)", "PSNR (dB)"]


def test_one_legend_with_the_present_variants():
    fig = performance_figure(metrics(("segmentation",)), title="Fig. 4")
    (legend,) = fig.legends
    assert [text.get_text() for text in legend.get_texts()] == ["Neuralizer-seen", "U-Net"]
    assert fig.get_suptitle() == "Fig. 4"


def test_all_sits_one_power_of_two_right_of_the_largest_tick():
    fig = performance_figure(metrics(("segmentation",)))
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"
    assert [label.get_text() for label in ax.get_xticklabels()] == ["1", "2", "4", "8", "all"]
    assert ax.get_xticks().tolist() == [1, 2, 4, 8, 16]
    unet = [line for line in ax.get_lines() if line.get_marker() == "D"]  # U-Net
    (line,) = unet
    assert np.log2(line.get_xdata()) == pytest.approx([0, 4], abs=0.2)  # 1 and "all", dodged a little
    assert line.get_ydata() == pytest.approx([0.2, 0.6])


def test_identity_is_a_dashed_line_at_its_mean():
    fig = performance_figure(metrics(("denoising",)))
    (ax,) = fig.axes
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    (line,) = dashed
    assert np.unique(line.get_ydata()).tolist() == pytest.approx([21.0])
    assert "Identity" in [text.get_text() for text in fig.legends[0].get_texts()]


def test_modality_filter_leaving_nothing_is_an_error():
    with pytest.raises(ValueError, match="T1w"):
        performance_figure(metrics(modality="T2w"), modality="T1w")
