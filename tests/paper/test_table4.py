"""Table 4: per-subject averaging then mean ± std across subjects, the x-axis, Identity, formatting."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from neuroicl.evaluation.metrics_table import COLUMNS
from neuroicl.evaluation.metrics_table import read as read_metrics
from neuroicl.paper.table4 import summarize, to_latex, to_markdown

NEURALIZER = {"run": "neuralizer-seen", "model": "neuralizer", "variant": "Neuralizer-seen", "train_subjects": 6,
              "all_subjects": True}
UNET = {"run": "unet-segmentation-n1", "model": "unet", "variant": "U-Net", "context_size": np.nan}
IDENTITY = {"run": "identity", "model": "identity", "variant": "Identity", "train_subjects": 0, "all_subjects": False,
            "context_size": np.nan, "task": "denoising", "family": "reconstruction", "metric": "psnr"}


def row(**fields) -> dict:
    """One metrics row: a Neuralizer-seen segmentation Dice of sub-001 with context size 4, unless overridden."""
    base = {**NEURALIZER, "task": "segmentation", "family": "segmentation", "dataset": "toy", "subject": "sub-001",
            "slice": 10, "repeat": 0, "context_size": 4, "modality": "T1w", "target_modality": "", "label": "cortex",
            "metric": "dice", "value": 0.5}
    return base | fields


def table(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(COLUMNS))


def test_averages_within_each_subject_before_the_spread_across_subjects():
    metrics = table(
        row(value=0.6, repeat=0, label="cortex"),
        row(value=0.8, repeat=1, label="thalamus"),  # sub-001: 0.7
        row(subject="sub-002", value=0.9),  # sub-002: 0.9 (pooling all rows would give a mean of 0.7667)
        row(subject="sub-002", metric="ssim", value=0.0),  # not the primary metric: ignored
        row(subject="sub-002", metric="iou", value=0.0),  # nor is a mask's IoU (MVG's metric), next to its Dice
    )
    (result,) = summarize(metrics).itertuples()
    assert result.mean == pytest.approx(0.8)
    assert result.std == pytest.approx(math.sqrt(0.02))  # ddof = 1 across the two subject means
    assert result.n == 2 and result.spread == "subjects"


def test_one_subject_has_zero_spread():
    (result,) = summarize(table(row(value=0.6), row(value=0.8, slice=11))).itertuples()
    assert (result.mean, result.std, result.n) == (pytest.approx(0.7), 0.0, 1)


def test_same_subject_id_in_two_datasets_counts_as_two_subjects():
    (result,) = summarize(table(row(value=0.6), row(dataset="other", value=0.8))).itertuples()
    assert result.n == 2


def test_x_is_context_size_in_context_and_train_subjects_otherwise_with_all_last():
    metrics = table(
        *[row(**UNET, train_subjects=n, all_subjects=n == 6, value=0.1 * n) for n in (6, 2, 1, 4)],
        row(context_size=2, train_subjects=6),
        row(context_size=1, train_subjects=6),
    )
    summary = summarize(metrics)
    unet = summary[summary["variant"] == "U-Net"]
    assert unet["x_label"].tolist() == ["1", "2", "4", "all"]
    assert unet["x"].tolist()[:3] == [1, 2, 4] and np.isinf(unet["x"].iloc[3])
    assert unet["mean"].tolist() == pytest.approx([0.1, 0.2, 0.4, 0.6])
    assert summary[summary["variant"] == "Neuralizer-seen"]["x_label"].tolist() == ["1", "2"]


def test_identity_has_no_x_and_one_table_row():
    metrics = table(row(**IDENTITY, value=20.0), row(**IDENTITY, subject="sub-002", value=22.0))
    (result,) = summarize(metrics).itertuples()
    assert math.isnan(result.x) and result.x_label == "—"
    assert (result.mean, result.n) == (pytest.approx(21.0), 2)
    assert to_markdown(summarize(metrics)).splitlines()[2] == "| Identity | — | 21.0 ± 1.4 |"


def test_modality_filter_keeps_exact_matches_only():
    metrics = table(row(value=0.6), row(modality="T1w+FLAIR", value=0.2), row(modality="T2w", value=0.4))
    assert summarize(metrics, modality="T1w")["mean"].tolist() == pytest.approx([0.6])
    assert summarize(metrics)["mean"].tolist() == pytest.approx([0.4])


def test_markdown_cells_rows_and_table4_task_order():
    metrics = table(
        row(task="inpainting", family="reconstruction", metric="psnr", value=25.94),
        row(task="inpainting", family="reconstruction", metric="psnr", value=30.18, subject="sub-002"),
        row(value=0.83, context_size=8),
        row(**UNET, train_subjects=2, all_subjects=False, value=0.61),
        row(**UNET, train_subjects=6, all_subjects=True, value=0.7),
        row(variant="Neuralizer-unseen", run="neuralizer-unseen", value=0.5),
    )
    lines = to_markdown(summarize(metrics)).splitlines()
    assert lines[0] == "| Model | Subjects | Segmentation | Inpainting |"
    assert lines[2:] == [
        "| Neuralizer-seen | 8 | 0.83 ± 0.00 | – |",
        "| Neuralizer-seen | 4 | – | 28.1 ± 3.0 |",
        "| Neuralizer-unseen | 4 | 0.50 ± 0.00 | – |",
        "| U-Net | all | 0.70 ± 0.00 | – |",
        "| U-Net | 2 | 0.61 ± 0.00 | – |",
    ]


def test_latex_is_a_booktabs_tabular_with_escapes():
    metrics = table(row(variant="my_model", value=0.83), row(variant="my_model", context_size=2, value=0.5),
                    row(task="skull_stripping", family="skull_strip", value=0.97))
    tex = to_latex(summarize(metrics))
    assert r"\begin{tabular}{llcc}" in tex and r"\toprule" in tex and r"\bottomrule" in tex
    assert r"Model & Subjects & Segmentation & Skull Strip. \\" in tex
    assert r"Neuralizer-seen & 4 & -- & 0.97 $\pm$ 0.00 \\" in tex
    assert r"my\_model & 4 & 0.83 $\pm$ 0.00 & -- \\" in tex
    assert r" & 2 & 0.50 $\pm$ 0.00 & -- \\" in tex  # the variant is named on its first row only
    assert tex.index("Neuralizer-seen &") < tex.index(r"\midrule", tex.index("Neuralizer-seen &")) < tex.index("my")


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match=r"\['subject', 'value'\].*format"):
        summarize(table(row()).drop(columns=["subject", "value"]))


def test_unknown_task_is_an_error():
    with pytest.raises(ValueError, match="bias_correction"):
        summarize(table(row(task="bias_correction")))


def test_read_metrics_keeps_empty_text_and_missing_context(tmp_path):
    path = tmp_path / "metrics.csv"
    unet = row(**UNET, train_subjects=3, all_subjects=True, label="", value=0.4)
    table(row(value=0.6), unet).to_csv(path, index=False)
    metrics = read_metrics(path)
    assert metrics["label"].tolist() == ["cortex", ""]
    assert summarize(metrics)["x_label"].tolist() == ["4", "all"]


def test_table4_spread_is_across_modalities_and_classes_by_hand():
    """Table 4's caption: the ± is the std across modalities and segmentation classes (cases)."""
    metrics = table(
        row(subject="sub-001", modality="T1w", label="cortex", value=0.6),
        row(subject="sub-002", modality="T1w", label="cortex", value=0.8),  # case (T1w, cortex): 0.7
        row(subject="sub-001", modality="T2w", label="cortex", value=0.4),
        row(subject="sub-002", modality="T2w", label="cortex", value=0.4),  # case (T2w, cortex): 0.4
        row(subject="sub-001", modality="T1w", label="thalamus", value=0.9),  # case (T1w, thalamus): 0.9
    )
    (cases,) = summarize(metrics, spread="cases").itertuples()
    assert cases.mean == pytest.approx((0.7 + 0.4 + 0.9) / 3)
    assert cases.std == pytest.approx(math.sqrt(((0.7 - 2 / 3) ** 2 + (0.4 - 2 / 3) ** 2 + (0.9 - 2 / 3) ** 2) / 2))
    assert (cases.n, cases.spread) == (3, "cases")
    (subjects,) = summarize(metrics).itertuples()  # the figures' bars: subjects 0.6333 and 0.6
    assert subjects.mean == pytest.approx((1.9 / 3 + 0.6) / 2)
    assert subjects.std == pytest.approx(math.sqrt(2 * ((1.9 / 3 - 0.6) / 2) ** 2))
    assert "across input modalities and segmentation classes" in to_latex(summarize(metrics, spread="cases"))


def test_an_unknown_spread_is_an_error():
    with pytest.raises(ValueError, match="spread must be one of"):
        summarize(table(row()), spread="datasets")
