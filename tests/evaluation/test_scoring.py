"""Scoring by task family: the metrics neuroicl.plan.families names, each per sample."""

from __future__ import annotations

import pytest
import torch

from neuroicl.core.metrics import psnr
from neuroicl.evaluation.scoring import score
from neuroicl.plan.families import METRICS, PRIMARY


def _all_active(pred: torch.Tensor) -> torch.Tensor:
    return torch.ones(pred.shape[:2], dtype=torch.bool)


@pytest.mark.parametrize("family", sorted(PRIMARY))
def test_score_keys_per_family(family: str) -> None:
    pred, target = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(8)), torch.rand(2, 1, 8, 8)
    scores = score(family, pred, target, _all_active(pred))
    expected = ["dice", "iou"] if family in ("segmentation", "skull_strip") else ["psnr", "ssim", "mae"]
    assert list(scores) == expected == list(METRICS[family])
    assert PRIMARY[family] == expected[0]
    assert all(value.shape == (2,) for value in scores.values())


def test_score_is_the_metric_itself():
    pred, target = torch.rand(3, 2, 9, 9), torch.rand(3, 2, 9, 9)
    active = torch.tensor([[True, False], [True, True], [False, True]])
    assert torch.equal(score("transfer", pred, target, active)["psnr"], psnr(pred, target, active))


def test_mask_families_report_iou_next_to_dice():
    pred = torch.zeros(1, 1, 2, 3)
    pred[0, 0, 0, :2] = 0.9  # predicted {0, 1}
    target = torch.zeros(1, 1, 2, 3)
    target[0, 0, 0, 1:] = 1.0  # true {1, 2}: intersection 1, union 3
    scores = score("segmentation", pred, target, _all_active(pred))
    assert scores["dice"].item() == pytest.approx(0.5) and scores["iou"].item() == pytest.approx(1 / 3)


def test_score_unknown_family() -> None:
    pred = torch.zeros(1, 1, 8, 8)
    with pytest.raises(ValueError, match="unknown task family 'denoise'.*reconstruction"):
        score("denoise", pred, pred, _all_active(pred))
