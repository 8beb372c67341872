"""MVG's tables and claims, on hand-made metrics tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuroicl.evaluation.metrics_table import COLUMNS
from neuroicl.paper.mvg_study import (
    CLEAR_MARGIN,
    ablation_markdown,
    ablation_table,
    mvg_claims,
    tasks_markdown,
    tasks_table,
)
from neuroicl.plan.mvg_study import TABLE5, ablation_run

ROWS = [(part, setting, "mvg" if suffix == "unified" else ablation_run(suffix)) for part, setting, suffix in TABLE5]
NAMES = {"MVG": "mvg", "Floor": "context_mean", "Identity": "identity"}


def _rows(run: str, task: str, metric: str, values: list[float], size: float = 1, **fields) -> list[dict]:
    """One metrics row per value: targets sub-001 slices 0, 1, ... of ``task`` at context size ``size``."""
    family = "segmentation" if task == "segmentation" else "reconstruction"
    return [{"run": run, "model": "mvg", "variant": run, "train_subjects": 2, "all_subjects": True, "task": task,
             "family": family, "dataset": "toy", "subject": "sub-001", "slice": i, "repeat": 0, "context_size": size,
             "modality": "T1w", "target_modality": "", "label": "cortex" if family == "segmentation" else "",
             "metric": metric, "value": value, **fields} for i, value in enumerate(values)]


def _ablation_metrics(iou: dict[str, float]) -> pd.DataFrame:
    """Two targets per run around its IoU (Dice 2 IoU / (1 + IoU)), plus an L = 2 row and a denoising row of mvg
    that the ablation must ignore."""
    rows = []
    for run, value in iou.items():
        for metric, v in (("iou", value), ("dice", 2 * value / (1 + value))):
            rows += _rows(run, "segmentation", metric, [v - 0.01, v + 0.01])
    rows += _rows("mvg", "segmentation", "iou", [0.99, 0.99], size=2) + _rows("mvg", "denoising", "psnr", [30.0])
    return pd.DataFrame(rows, columns=list(COLUMNS))


GOOD = {"mvg-ablation_ar": 0.6, "mvg-ablation_mim50": 0.4, "mvg-ablation_mim75": 0.3,
        "mvg-ablation_predefined": 0.5, "mvg-ablation_binary": 0.2, "mvg": 0.7}


def _tasks_metrics(mvg_iou: float, floor_iou: float, mvg_psnr: float, identity_psnr: float) -> pd.DataFrame:
    rows = _rows("mvg", "segmentation", "iou", [mvg_iou] * 2) + _rows("mvg", "segmentation", "iou", [0.99] * 2, size=2)
    rows += _rows("context_mean", "segmentation", "iou", [floor_iou] * 2)
    rows += _rows("context_mean", "segmentation", "iou", [0.99] * 2, size=8)  # the floor at L = 8: not read
    for run, psnr, size in (("mvg", mvg_psnr, 1), ("context_mean", 15.0, 1), ("identity", identity_psnr, np.nan)):
        rows += _rows(run, "denoising", "psnr", [psnr - 1, psnr + 1], size=size)
        rows += _rows(run, "denoising", "mae", [0.05, 0.07], size=size)
        rows += _rows(run, "denoising", "ssim", [0.8, 0.8], size=size)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def test_the_ablation_table_averages_the_targets_at_one_prompt():
    table = ablation_table(_ablation_metrics(GOOD), ROWS)
    assert list(table["setting"].unique()) == [setting for _, setting, _ in TABLE5]
    unified = table[(table["setting"] == "unified") & (table["metric"] == "iou")].iloc[0]
    assert unified["run"] == "mvg" and unified["mean"] == pytest.approx(0.7) and unified["n"] == 2  # L = 2 ignored
    assert unified["sd"] == pytest.approx(np.std([0.69, 0.71], ddof=1))
    isolated = table[(table["setting"] == "isolated") & (table["metric"] == "dice")].iloc[0]
    assert isolated["run"] == "mvg-ablation_ar" and isolated["mean"] == pytest.approx(2 * 0.6 / 1.6, abs=1e-3)
    text = ablation_markdown(table)
    assert "| mask strategy | MIM 50 % | mvg-ablation_mim50 | 0.571 ± 0.014 | 0.400 ± 0.014 | 2 |" in text


def test_the_ablation_needs_every_run_scored_on_the_same_targets():
    metrics = _ablation_metrics(GOOD)
    with pytest.raises(ValueError, match="'mvg-ablation_binary' has no segmentation score at L = 1"):
        ablation_table(metrics[metrics["run"] != "mvg-ablation_binary"], ROWS)
    moved = metrics.copy()
    moved.loc[moved["run"] == "mvg-ablation_mim75", "slice"] += 10
    with pytest.raises(ValueError, match=r"runs \['mvg-ablation_mim75'\] were scored on other segmentation targets"):
        ablation_table(moved, ROWS)


def test_the_tasks_table_shows_mvgs_metrics_per_task_and_model():
    table = tasks_table(_tasks_metrics(0.5, 0.3, 25.0, 20.0), ["segmentation", "denoising"], NAMES)
    seg = table[table["task"] == "segmentation"]
    assert set(seg["metric"]) == {"iou"} and list(seg["model"]) == ["MVG", "Floor"]  # no identity on masks
    assert seg["mean"].tolist() == pytest.approx([0.5, 0.3])  # L = 1 only
    den = table[table["task"] == "denoising"]
    assert list(den["model"].unique()) == ["MVG", "Floor", "Identity"] and set(den["metric"]) == {"mae", "psnr", "ssim"}
    identity = den[(den["model"] == "Identity") & (den["metric"] == "psnr")].iloc[0]
    assert identity["mean"] == pytest.approx(20.0) and identity["n"] == 2  # no context: its one score
    text = tasks_markdown(table)
    assert text.splitlines()[0] == "| task | model | mIoU | MAE | PSNR (dB) | SSIM | targets |"
    assert "| segmentation | Floor | 0.300 ± 0.000 | – | – | – | 2 |" in text
    assert "| denoising | MVG | – | 0.0600 ± 0.0141 | 25.00 ± 1.41 | 0.800 ± 0.000 | 2 |" in text


def _claims(iou: dict[str, float], tasks: tuple[float, float, float, float]) -> pd.DataFrame:
    ablation = ablation_table(_ablation_metrics(iou), ROWS)
    table = tasks_table(_tasks_metrics(*tasks), ["segmentation", "denoising"], NAMES)
    return pd.DataFrame(mvg_claims(ablation, table))


def test_the_claims_pass_on_the_papers_pattern():
    claims = _claims(GOOD, (0.5, 0.3, 25.0, 20.0))
    assert len(claims) == 4 + 2 and (claims["verdict"] == "PASS").all()
    assert claims["claim"].str.contains("AR training beats MIM").sum() == 2
    seg = claims[claims["claim"].str.contains("floor")].iloc[0]
    assert (seg["task"], seg["measured"], seg["reference"]) == ("segmentation", "MVG (L = 1)", "Floor (L = 1)")
    ar = claims[claims["claim"].str.contains("beats MIM 50 %")].iloc[0]
    assert ar["value"] == pytest.approx(0.6) and ar["reference_value"] == pytest.approx(0.4 + CLEAR_MARGIN)


def test_the_claims_fail_on_the_numbers():
    close = {**GOOD, "mvg-ablation_mim50": 0.6 - CLEAR_MARGIN / 2, "mvg-ablation_binary": 0.7, "mvg": 0.5}
    claims = _claims(close, (0.3, 0.3, 19.0, 20.0))
    names = claims["claim"].str.replace("MVG (Table 5): ", "", regex=False) + " / " + claims["task"]
    verdicts = dict(zip(names, claims["verdict"], strict=True))
    assert verdicts["AR training beats MIM 50 % training on segmentation (mIoU) / segmentation"] == "FAIL"
    assert verdicts["AR training beats MIM 75 % training on segmentation (mIoU) / segmentation"] == "PASS"
    assert verdicts["Random colours beat binary colours on segmentation (mIoU) / segmentation"] == "FAIL"
    assert verdicts["Unified training beats isolated training on segmentation (mIoU) / segmentation"] == "FAIL"
    assert verdicts["MVG at one prompt beats the floor (mIoU) / segmentation"] == "FAIL"  # a tie is not a win
    assert verdicts["MVG at one prompt beats the input itself (PSNR) / denoising"] == "FAIL"


def test_without_the_ablation_only_the_task_claims():
    table = tasks_table(_tasks_metrics(0.5, 0.3, 25.0, 20.0), ["segmentation", "denoising"], NAMES)
    claims = pd.DataFrame(mvg_claims(None, table))
    assert claims["task"].tolist() == ["segmentation", "denoising"] and (claims["verdict"] == "PASS").all()
