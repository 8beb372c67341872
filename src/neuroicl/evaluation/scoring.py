"""Scoring a batch of predictions by task family: the metrics :data:`neuroicl.plan.families.METRICS` names.

Example:
    >>> pred = torch.rand(2, 3, 16, 16)
    >>> active = torch.tensor([[True, False, False], [True, True, False]])
    >>> list(score("transfer", pred, pred, active))
    ['psnr', 'ssim', 'mae']
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from neuroicl.core.metrics import dice_score, iou_score, mae, psnr, ssim
from neuroicl.plan.families import METRICS

#: Metric name -> its batched function ``(pred, target, active) -> [B]`` with default settings.
METRIC_FUNCTIONS: dict[str, Callable[[Tensor, Tensor, Tensor], Tensor]] = {
    "dice": dice_score,
    "iou": iou_score,
    "psnr": psnr,
    "ssim": ssim,
    "mae": mae,
}


def score(family: str, pred: Tensor, target: Tensor, active: Tensor) -> dict[str, Tensor]:
    """The metrics evaluation reports for task ``family`` (in :data:`METRICS` order), each ``[B]``.

    Dice and IoU for ``"segmentation"`` and ``"skull_strip"``; PSNR, SSIM and MAE for ``"reconstruction"``
    and ``"transfer"``. ``pred`` and ``target`` are ``[B, C, H, W]``, ``active`` ``[B, C]``.
    """
    if family not in METRICS:
        raise ValueError(f"unknown task family {family!r}; valid: {sorted(METRICS)}")
    return {name: METRIC_FUNCTIONS[name](pred, target, active) for name in METRICS[family]}
