"""MetaSeg's study tables and claims, on hand-made per-target tables."""

from __future__ import annotations

import pandas as pd
import pytest

from neuroicl.paper.metaseg_study import (
    CLEAR_MARGIN,
    ablation_markdown,
    misalignment_markdown,
    steps_markdown,
    study_claims,
    summarize,
)


def _steps(meta: dict[int, float], random: dict[int, float]) -> pd.DataFrame:
    rows = []
    for model, values in (("meta", meta), ("random", random)):
        for t, value in values.items():
            for j, delta in enumerate((-0.01, 0.01)):  # two targets around the value
                rows += [{"model": model, "label": "c", "subject": "s", "target": j, "steps": t, "metric": metric,
                          "value": value + delta} for metric in ("dice", "generalised_dice")]
    return pd.DataFrame(rows)


def _ablation(values: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame([{"model": m, "label": "c", "subject": "s", "target": 0, "steps": 50, "metric": metric,
                          "value": v} for m, v in values.items() for metric in ("dice", "generalised_dice")])


def _claims(meta, random, ablation):
    steps = summarize(_steps(meta, random), ["model", "steps"])
    return pd.DataFrame(study_claims(steps, summarize(_ablation(ablation), ["model"]), "meta", "random", "io"))


def test_summaries_average_every_target():
    summary = summarize(_steps({0: 0.5}, {0: 0.2}), ["model", "steps"])
    dice = summary[(summary["metric"] == "dice") & (summary["model"] == "meta")]
    assert float(dice["mean"].iloc[0]) == pytest.approx(0.5) and int(dice["n"].iloc[0]) == 2


def test_the_claims_pass_and_fail_on_the_numbers():
    good = _claims({0: 0.5, 5: 0.7, 50: 0.8, 100: 0.8}, {0: 0.1, 5: 0.2, 50: 0.6, 100: 0.7}, {"meta": 0.8, "io": 0.6})
    assert (good["verdict"] == "PASS").all() and len(good) == 3 + 2 + 1  # T = 0, 5, 50; two metrics; early steps
    assert not good["measured"].str.contains("T = 100").any()  # only T <= 50
    close = _claims({0: 0.5, 5: 0.5, 50: 0.8}, {0: 0.5 - CLEAR_MARGIN / 2, 5: 0.2, 50: 0.6}, {"meta": 0.5, "io": 0.6})
    verdicts = dict(zip(close["measured"] + " / " + close["reference"], close["verdict"], strict=True))
    assert verdicts["MetaSeg (T = 0) / Random init (T = 0) + 0.1"] == "FAIL"  # a margin under the clear one
    assert verdicts["MetaSeg (T = 5) / 80% of MetaSeg (T = 50)"] == "FAIL"  # 0.5 < 0.8 x 0.8
    assert (close.loc[close["claim"].str.contains("image-only"), "verdict"] == "FAIL").all()


def test_the_markdown_tables_show_each_row():
    steps = summarize(_steps({0: 0.5, 50: 0.8}, {0: 0.1, 50: 0.6}), ["model", "steps"])
    text = steps_markdown(steps, {"MetaSeg": "meta", "Random init": "random"})
    assert "| 50 | 0.800 | 0.600 |" in text
    ablation = summarize(_ablation({"r": 0.3, "meta": 0.8}), ["model"])
    table = ablation_markdown(ablation, {"Random": "r", "MetaSeg": "meta"})
    assert "| Random | 0.300 ±" in table and "| MetaSeg | 0.800 ±" in table
    moved = pd.DataFrame([{"model": "m", "kind": kind, "level": level, "metric": "dice", "value": 0.5}
                          for kind, level in (("rotation", 10.0), ("translation", 0.05))])
    text = misalignment_markdown(summarize(moved, ["model", "kind", "level"]), {"MetaSeg": "m"})
    assert "| rotation | 10° | 0.500 |" in text and "| translation | 5 % | 0.500 |" in text
