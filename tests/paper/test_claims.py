"""The claims table: the numbers compared and the verdicts, on hand-made metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuroicl.evaluation.metrics_table import COLUMNS
from neuroicl.paper.claims import claims, to_markdown
from neuroicl.paper.table4 import summarize

RUNS = {
    "seen": {"run": "neuralizer-seen", "model": "neuralizer", "variant": "Neuralizer-seen", "train_subjects": 4,
             "all_subjects": True},
    "floor": {"run": "context_mean", "model": "context_mean", "variant": "Floor", "train_subjects": 4,
              "all_subjects": True},
    "identity": {"run": "identity", "model": "identity", "variant": "Identity", "train_subjects": 4,
                 "all_subjects": True, "context_size": np.nan},
    "unet1": {"run": "unet-x-n1", "model": "unet", "variant": "U-Net", "train_subjects": 1, "all_subjects": False,
              "context_size": np.nan},
    "unetall": {"run": "unet-x-all", "model": "unet", "variant": "U-Net", "train_subjects": 4, "all_subjects": True,
                "context_size": np.nan},
    "metaseg": {"run": "metaseg-segmentation-all", "model": "metaseg", "variant": "MetaSeg", "train_subjects": 4,
                "all_subjects": True, "context_size": np.nan},
    "released": {"run": "neuralizer-released", "model": "neuralizer", "variant": "Neuralizer (released)",
                 "train_subjects": 4, "all_subjects": True},
    "mvg": {"run": "mvg", "model": "mvg", "variant": "MVG", "train_subjects": 4, "all_subjects": True},
}
TASK = {"segmentation": ("segmentation", "dice", "cortex"), "denoising": ("reconstruction", "psnr", "")}


def row(who: str, task: str, value: float, context_size: float = 32, subject: str = "sub-1") -> dict:
    family, metric, label = TASK[task]
    base = {"task": task, "family": family, "dataset": "d", "subject": subject, "slice": 1, "repeat": 0,
            "context_size": context_size, "modality": "T1w", "target_modality": "", "label": label, "metric": metric,
            "value": value}
    return base | RUNS[who] | ({"context_size": np.nan} if "context_size" in RUNS[who] else {})


def verdicts(rows: list[dict]) -> pd.DataFrame:
    table = claims(summarize(pd.DataFrame(rows, columns=list(COLUMNS))))
    return table.set_index(["claim", "task", "measured"])["verdict"]


@pytest.fixture
def good() -> list[dict]:
    return [
        row("seen", "segmentation", 0.8), row("seen", "segmentation", 0.6, context_size=1),
        row("seen", "denoising", 25.0), row("seen", "denoising", 23.0, context_size=1),
        row("floor", "segmentation", 0.7), row("floor", "denoising", 20.0),
        row("identity", "denoising", 24.0),
        row("unet1", "segmentation", 0.5), row("unet1", "denoising", 24.5),
        row("unetall", "segmentation", 0.9), row("unetall", "denoising", 26.0),
    ]


def test_every_claim_holds_on_numbers_that_support_it(good):
    result = verdicts(good)
    assert set(result) == {"PASS"}
    assert result["Neuralizer-seen at its largest context beats the floor", "segmentation", "Neuralizer-seen (L = 32)"]
    assert ("U-Net on all data is the ceiling for segmentation", "segmentation", "U-Net (all)") in result.index


def test_a_failed_claim_is_reported_with_its_numbers(good):
    good[0] = row("seen", "segmentation", 0.65)  # below the floor (0.7)
    good[-1] = row("unetall", "denoising", 24.2)  # below the U-Net on one subject (24.5)
    table = claims(summarize(pd.DataFrame(good, columns=list(COLUMNS))))
    seg = table[(table["claim"].str.startswith("Neuralizer-seen at its largest")) & (table["task"] == "segmentation")]
    assert seg[["value", "reference_value", "verdict"]].values.tolist() == [[pytest.approx(0.65), 0.7, "FAIL"]]
    unet = table[table["claim"].str.startswith("U-Net (all subjects)") & (table["task"] == "denoising")]
    assert unet["verdict"].tolist() == ["FAIL"]
    markdown = to_markdown(table)
    assert "**FAIL**" in markdown and "0.65" in markdown and "FAIL," in markdown.splitlines()[-1]


def test_the_floor_of_an_image_task_is_the_identity(good):
    good[2] = row("seen", "denoising", 23.5)  # above the context mean (20) but below the identity (24)
    result = verdicts(good)
    assert result["Neuralizer-seen at its largest context beats the floor", "denoising", "Neuralizer-seen (L = 32)"] \
        == "FAIL"


def test_image_tasks_are_also_held_to_the_context_mean(good):
    claim = "On image tasks, every learned model also beats the context mean"
    good[5] = row("floor", "denoising", 25.5)  # above the identity (24) and Neuralizer-seen (25), under the U-Net (26)
    result = verdicts(good)
    assert result[claim, "denoising", "Neuralizer-seen (32)"] == "FAIL"
    assert result[claim, "denoising", "U-Net (all)"] == "PASS"  # 26 > 25.5
    assert result["Every learned model beats the floor at its best setting", "denoising", "Neuralizer-seen (32)"] \
        == "PASS"  # the identity (24) is still its floor
    assert not any(task == "segmentation" for c, task, _ in result.index if c == claim)


def test_metaseg_is_a_learned_row_and_a_rival_of_the_segmentation_ceiling(good):
    table = verdicts([*good, row("metaseg", "segmentation", 0.65)])
    assert table["Every learned model beats the floor at its best setting", "segmentation", "MetaSeg (all)"] == "FAIL"
    table = verdicts([*good, row("metaseg", "segmentation", 0.95)])
    assert table["Every learned model beats the floor at its best setting", "segmentation", "MetaSeg (all)"] == "PASS"
    assert table["U-Net on all data is the ceiling for segmentation", "segmentation", "U-Net (all)"] == "FAIL"


@pytest.mark.parametrize("who, variant", [("released", "Neuralizer (released)"), ("mvg", "MVG")])
def test_every_learned_variant_has_a_floor_row_and_rivals_the_ceiling(good, who, variant):
    table = verdicts([*good, row(who, "segmentation", 0.65)])
    assert table["Every learned model beats the floor at its best setting", "segmentation", f"{variant} (32)"] == "FAIL"
    table = verdicts([*good, row(who, "segmentation", 0.95)])
    assert table["U-Net on all data is the ceiling for segmentation", "segmentation", "U-Net (all)"] == "FAIL"


def test_a_flat_context_curve_does_not_rise(good):
    good[1] = row("seen", "segmentation", 0.8, context_size=1)  # the same as at L = 32
    result = verdicts(good)
    assert result["Neuralizer-seen's score rises with the context size", "segmentation", "Neuralizer-seen (L = 32)"] \
        == "FAIL"


@pytest.mark.parametrize("part, words", [("test", "whose scores chose the demo's settings"),
                                         ("val", "whose scores chose no setting but MetaSeg's")])
def test_the_markdown_says_which_subjects_were_scored(good, part, words):
    table = claims(summarize(pd.DataFrame(good, columns=list(COLUMNS))))
    assert words in to_markdown(table, part).splitlines()[-1]
    assert "subjects" not in to_markdown(table).splitlines()[-1]
