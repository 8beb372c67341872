"""ISTN's Tables 2-3 and claims, by hand values."""

from __future__ import annotations

import pandas as pd
import pytest

from neuroicl.paper.istn_study import RECOVERY, istn_claims, summarize, table_markdown, tables_markdown


def _scores(values: dict[tuple[str, str], list[float]], task="segmentation", metric="dice", leak=False):
    rows = []
    for (model, domain), scores in values.items():
        sites = "siteA;siteC" if leak and model != "source" else "siteA"
        rows += [{"task": task, "pair": "siteA-siteC", "model": model, "domain": domain, "site": "x",
                  "subject": f"s{i}", "metric": metric, "value": v, "selected_step": 1, "label_sites": sites}
                 for i, v in enumerate(scores)]
    return pd.DataFrame(rows)


DICE = {("source", "source"): [0.9], ("source", "target"): [0.6, 0.6],
        ("itn-affine_uni_scratch", "target"): [0.75, 0.75], ("itn-affine_uni_finetune", "target"): [0.65, 0.67]}


def test_summaries_carry_the_variant():
    summary = summarize(_scores(DICE))
    row = summary[summary["model"] == "itn-affine_uni_finetune"].iloc[0]
    assert (row["mode"], row["direction"], row["init"], row["n"]) == ("itn+affine", "uni", "finetune", 2)
    assert row["mean"] == pytest.approx(0.66)


def test_the_table_has_the_papers_layout():
    text = table_markdown(summarize(_scores(DICE)), "segmentation", "siteA-siteC")
    lines = text.splitlines()
    assert "siteA → siteC" in lines[0]
    assert lines[2] == "| ITN | STN | Uni-ISTN Dice (s) | Δ | Uni-ISTN Dice (f) | Δ |"
    assert lines[4] == "| no | no | 0.600 |  | 0.600 |  |"
    assert lines[5] == "| yes | affine | 0.750 | +0.150 | 0.660 | +0.060 |"
    assert "Single-site ceiling T_S(siteA) on siteA's test subjects: 0.900" in text


def test_accuracy_is_in_percent_and_mae_improves_downwards():
    mae = {("source", "source"): [4.0], ("source", "target"): [6.0], ("itn_uni_scratch", "target"): [5.0]}
    text = table_markdown(summarize(_scores(mae, "age", "mae")), "age", "siteA-siteC")
    assert "| yes | no | 5.00 | +1.00 |" in text
    accuracy = {("source", "source"): [1, 1], ("source", "target"): [0, 1], ("itn_uni_scratch", "target"): [1, 1]}
    text = tables_markdown(summarize(_scores(accuracy, "sex", "accuracy")))
    assert "| yes | no | 100.0 | +50.0 |" in text and text.startswith("## ISTN")


def test_claims_by_hand_values():
    rows = pd.DataFrame(istn_claims(summarize(_scores(DICE))))
    assert list(rows["verdict"]) == ["PASS", "PASS", "FAIL", "PASS"]
    assert rows["reference_value"].iloc[1] == pytest.approx(0.6 + RECOVERY * 0.3)
    assert rows["value"].iloc[2] == pytest.approx(0.66)  # fine-tuned: 20 % of the loss < a third


def test_no_loss_makes_recovery_not_applicable_and_a_target_label_read_fails():
    even = {**DICE, ("source", "target"): [0.95, 0.95]}
    rows = pd.DataFrame(istn_claims(summarize(_scores(even, leak=True))))
    assert list(rows["verdict"]) == ["FAIL", "n/a", "n/a", "FAIL"]
    assert rows["value"].iloc[-1] == 2


def test_mae_claims_compare_downwards():
    mae = {("source", "source"): [4.0], ("source", "target"): [6.0], ("itn_uni_scratch", "target"): [5.0]}
    rows = pd.DataFrame(istn_claims(summarize(_scores(mae, "age", "mae"))))
    assert list(rows["verdict"]) == ["PASS", "PASS", "PASS"]


def test_a_covariate_ceiling_is_checked_against_chance_and_shown_beside_it():
    """sex: chance 60 % -> the ceiling needs 80 %; age: chance MAE 14 -> the ceiling needs 7 years or less."""
    sex = {("chance", "source"): [1, 1, 1, 0, 0], ("chance", "target"): [1, 0], ("source", "source"): [1, 1, 1, 1, 0],
           ("source", "target"): [1, 0], ("itn_uni_scratch", "target"): [1, 1]}
    rows = pd.DataFrame(istn_claims(summarize(_scores(sex, "sex", "accuracy"))))
    assert rows["claim"].iloc[0].startswith("The single-site ceiling is well above chance")
    assert rows["reference_value"].iloc[0] == pytest.approx(80.0) and rows["verdict"].iloc[0] == "PASS"
    assert list(rows["verdict"]) == ["PASS", "PASS", "PASS", "PASS"]  # the chance rows are no adapted model
    text = table_markdown(summarize(_scores(sex, "sex", "accuracy")), "sex", "siteA-siteC")
    assert "Chance (the siteA training subjects' majority for every subject): 60.0 on siteA, 50.0 on siteC." in text
    assert "chance" not in text.split("Single-site")[0]
    age = {("chance", "source"): [14.0], ("chance", "target"): [12.0], ("source", "source"): [7.5],
           ("source", "target"): [9.0]}
    rows = pd.DataFrame(istn_claims(summarize(_scores(age, "age", "mae"))))
    assert rows["reference_value"].iloc[0] == pytest.approx(7.0) and rows["verdict"].iloc[0] == "FAIL"
