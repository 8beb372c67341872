"""Evaluation cases: fixed modality, class and transfer target per test question."""

from __future__ import annotations

import pytest

from neuroicl.plan.cases import EvalSettings, cases_for

SETTINGS = EvalSettings(
    context_sizes=(1, 2, 4),
    repeats=2,
    labels={"cortex": (3, 4), "ventricle": (5, 6)},
    transfer={"T1w": "T2w", "T2w": "T1w"},
)


def test_segmentation_cases_cross_classes_and_modalities():
    cases = cases_for("segmentation", ["T1w", "FLAIR"], SETTINGS)
    assert [c.key for c in cases] == ["cortex:T1w", "cortex:FLAIR", "ventricle:T1w", "ventricle:FLAIR"]
    assert cases[0].choice == (3, 4) and cases[0].modalities == (["T1w"], None)


def test_transfer_cases_follow_the_map_and_skip_missing_targets():
    cases = cases_for("modality_transfer", ["T1w", "T2w", "FLAIR"], SETTINGS)
    assert [(c.modality, c.target_modality) for c in cases] == [("T1w", "T2w"), ("T2w", "T1w")]
    with pytest.raises(ValueError, match="evaluation.transfer"):
        cases_for("modality_transfer", ["FLAIR"], SETTINGS)


def test_other_tasks_have_one_case_per_modality():
    assert [c.key for c in cases_for("denoising", ["T1w", "T2w"], SETTINGS)] == ["T1w", "T2w"]


@pytest.mark.parametrize("field, value", [("context_sizes", (2, 1)), ("context_sizes", ()), ("repeats", 0)])
def test_settings_are_checked(field, value):
    kwargs = {"context_sizes": (1, 2), "repeats": 1, "labels": {"a": (3,)}, "transfer": {}, field: value}
    with pytest.raises(ValueError, match=f"evaluation.{field}"):
        EvalSettings(**kwargs)
