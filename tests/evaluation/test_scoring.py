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
    expected = ["dice"] if family in ("segmentation", "skull_strip") else ["psnr", "ssim", "mae"]
    assert list(scores) == expected == list(METRICS[family])
    assert PRIMARY[family] == expected[0]
    assert all(value.shape == (2,) for value in scores.values())


def test_score_is_the_metric_itself():
    pred, target = torch.rand(3, 2, 9, 9), torch.rand(3, 2, 9, 9)
    active = torch.tensor([[True, False], [True, True], [False, True]])
    assert torch.equal(score("transfer", pred, target, active)["psnr"], psnr(pred, target, active))


def test_score_unknown_family() -> None:
    pred = torch.zeros(1, 1, 8, 8)
    with pytest.raises(ValueError, match="unknown task family 'denoise'.*reconstruction"):
        score("denoise", pred, pred, _all_active(pred))
