"""Metrics shared by the stages: a numpy overlap for preprocessing QC, batched torch metrics for evaluation.

The evaluation metrics score a batch of predictions ``[B, C, H, W]`` against targets of the same
shape, over the channels an ``active`` mask ``[B, C]`` marks (a task may use fewer channels than
the network has), and return one value per sample, ``[B]``. They compute in float32 on the
inputs' device, without autograd.

Which metrics each task family reports: :mod:`neuroicl.plan.families`; scoring a batch by family:
:mod:`neuroicl.evaluation.scoring`.

Example:
    >>> pred = torch.rand(2, 3, 16, 16)
    >>> active = torch.tensor([[True, False, False], [True, True, False]])
    >>> psnr(pred, pred, active)
    tensor([100., 100.])
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

#: Floor of the MSE in :func:`psnr`, so identical images give a finite value (100 dB at data range 1).
MSE_FLOOR = 1e-10

#: SSIM stabilisers (Wang et al. 2004; scikit-image's defaults).
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice overlap of two boolean arrays (1.0 when both are empty)."""
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int(np.logical_and(a, b).sum()) / total


def _check(pred: Tensor, target: Tensor, active: Tensor) -> None:
    """Raise unless ``pred`` and ``target`` are ``[B, C, H, W]`` alike and ``active`` is a ``[B, C]`` bool mask.

    Every sample needs at least one active channel (a sample with none is a caller bug).
    """
    if pred.ndim != 4 or pred.shape != target.shape:
        raise ValueError(
            f"pred and target must both be [B, C, H, W] of one shape, "
            f"got pred {tuple(pred.shape)} and target {tuple(target.shape)}"
        )
    if active.shape != pred.shape[:2]:
        raise ValueError(
            f"active must be [B, C] = {tuple(pred.shape[:2])} for pred {tuple(pred.shape)}, "
            f"got {tuple(active.shape)}"
        )
    if active.dtype != torch.bool:
        raise TypeError(f"active must be a bool mask, got dtype {active.dtype}")
    idle = (~active.any(dim=1)).nonzero().flatten().tolist()
    if idle:
        raise ValueError(f"samples {idle} have no active channel; every sample needs at least one")


def _check_range(data_range: float) -> None:
    """Raise unless ``data_range`` (the span of possible intensities) is positive."""
    if not data_range > 0:
        raise ValueError(f"data_range must be positive (max - min possible intensity), got {data_range}")


def _active_mean(per_channel: Tensor, active: Tensor) -> Tensor:
    """Mean ``[B]`` of ``per_channel`` ``[B, C]`` over the active channels (inactive values, even NaN, ignored)."""
    active = active.to(per_channel.device)
    kept = torch.where(active, per_channel, torch.zeros_like(per_channel))
    return kept.sum(dim=1) / active.sum(dim=1)


def _active_sum(per_channel: Tensor, active: Tensor) -> Tensor:
    """Sum ``[B]`` of ``per_channel`` ``[B, C]`` over the active channels."""
    active = active.to(per_channel.device)
    return torch.where(active, per_channel, torch.zeros_like(per_channel)).sum(dim=1)


@torch.no_grad()
def dice_score(pred: Tensor, target: Tensor, active: Tensor, threshold: float = 0.5) -> Tensor:
    """Dice ``[B]`` of ``pred > threshold`` against ``target > 0.5``, pooled over the active channels.

    ``pred`` (probabilities) and ``target`` are ``[B, C, H, W]``, ``active`` ``[B, C]``. The
    active channels of a sample are counted together, as one mask; 1.0 when both are empty.
    """
    _check(pred, target, active)
    p = pred > threshold
    q = target > 0.5
    intersection = _active_sum((p & q).flatten(2).sum(dim=2).float(), active)
    total = _active_sum((p.flatten(2).sum(dim=2) + q.flatten(2).sum(dim=2)).float(), active)
    both_empty = total == 0
    return torch.where(both_empty, torch.ones_like(total), 2.0 * intersection / total.clamp_min(1.0))


@torch.no_grad()
def iou_score(pred: Tensor, target: Tensor, active: Tensor, threshold: float = 0.5) -> Tensor:
    """Foreground IoU (Jaccard) ``[B]`` of ``pred > threshold`` against ``target > 0.5`` (MVG's segmentation metric;
    its mean over targets is the paper's mIoU), pooled over the active channels as :func:`dice_score` pools them, so
    that ``iou = dice / (2 - dice)`` sample by sample; 1.0 when both are empty. torchmetrics' ``mean_iou`` on the
    foreground class."""
    from torchmetrics.functional.segmentation import mean_iou  # the evaluation stage only

    _check(pred, target, active)
    mask = active[:, :, None, None]
    p = ((pred > threshold) & mask).flatten(1).long()[:, None]  # B 1 (C H W): inactive channels are background
    q = ((target > 0.5) & mask).flatten(1).long()[:, None]
    iou = mean_iou(p, q, num_classes=2, include_background=False, input_format="index").float()
    both_empty = (p.sum(dim=(1, 2)) + q.sum(dim=(1, 2))) == 0
    return torch.where(both_empty, torch.ones_like(iou), iou)


@torch.no_grad()
def generalised_dice(pred: Tensor, target: Tensor, active: Tensor, threshold: float = 0.5) -> Tensor:
    """Generalised Dice ``[B]`` over background and foreground (Sudre et al. 2017; MetaSeg's tables), each class
    weighted by 1 / its target area squared: torchmetrics' ``generalized_dice_score`` with the background
    included. The foreground is ``pred > threshold`` and ``target > 0.5`` on any active channel: the active
    channels merged into one mask (unlike :func:`dice_score`, which adds their counts; the two agree when every
    active channel holds the same mask, as a segmentation target and MetaSeg's prediction do); 1.0 when both are
    empty."""
    from torchmetrics.functional.segmentation import generalized_dice_score  # the evaluation stage only

    _check(pred, target, active)
    mask = active[:, :, None, None]
    p = ((pred > threshold) & mask).any(dim=1).flatten(1).long()
    q = ((target > 0.5) & mask).any(dim=1).flatten(1).long()
    return generalized_dice_score(p, q, num_classes=2, include_background=True, weight_type="square",
                                  input_format="index").float()


def _channel_mse(pred: Tensor, target: Tensor) -> Tensor:
    """Mean squared error per channel, ``[B, C, H, W] -> [B, C]``, in float32."""
    return (pred.float() - target.float()).square().flatten(2).mean(dim=2)


@torch.no_grad()
def psnr(pred: Tensor, target: Tensor, active: Tensor, data_range: float = 1.0) -> Tensor:
    """Peak signal-to-noise ratio ``[B]`` in dB, ``10 log10(data_range^2 / MSE)``.

    The MSE pools the pixels of the active channels (``active`` ``[B, C]``) of ``pred`` and
    ``target`` ``[B, C, H, W]``. It is clamped at :data:`MSE_FLOOR` (1e-10), so identical images
    give a large finite value: 100 dB at ``data_range=1``.
    """
    _check(pred, target, active)
    _check_range(data_range)
    mse = _active_mean(_channel_mse(pred, target), active)
    return 10.0 * torch.log10(data_range**2 / mse.clamp_min(MSE_FLOOR))


@torch.no_grad()
def mae(pred: Tensor, target: Tensor, active: Tensor) -> Tensor:
    """Mean absolute error ``[B]`` over the pixels of the active channels.

    ``pred`` and ``target`` are ``[B, C, H, W]``, ``active`` ``[B, C]``.
    """
    _check(pred, target, active)
    per_channel = (pred.float() - target.float()).abs().flatten(2).mean(dim=2)
    return _active_mean(per_channel, active)


@torch.no_grad()
def ssim(pred: Tensor, target: Tensor, active: Tensor, data_range: float = 1.0, window: int = 7) -> Tensor:
    """Structural similarity ``[B]``: 2-D SSIM of each active channel, averaged over those channels.

    Matches scikit-image's ``structural_similarity(data_range=..., win_size=window)`` with its
    defaults (uniform window, K1 = 0.01, K2 = 0.03, sample covariance ``NP / (NP - 1)`` with
    ``NP = window^2``), including its mean over the interior only: a border of
    ``(window - 1) // 2`` pixels, where the window would leave the image, is left out.

    ``pred`` and ``target`` are ``[B, C, H, W]`` with ``H, W >= window``; ``active`` ``[B, C]``.
    """
    _check(pred, target, active)
    _check_range(data_range)
    if window < 3 or window % 2 == 0:
        raise ValueError(f"window must be an odd integer >= 3, got {window}")
    height, width = pred.shape[-2:]
    if height < window or width < window:
        raise ValueError(f"ssim needs H, W >= window={window}, got H, W = {height}, {width}; pass a smaller window")
    x = pred.float()
    y = target.float()

    def local_mean(image: Tensor) -> Tensor:
        # stride 1, no padding: exactly the interior skimage keeps after its crop
        return F.avg_pool2d(image, kernel_size=window, stride=1)

    cov_norm = window**2 / (window**2 - 1)
    ux, uy = local_mean(x), local_mean(y)
    vx = cov_norm * (local_mean(x * x) - ux * ux)
    vy = cov_norm * (local_mean(y * y) - uy * uy)
    vxy = cov_norm * (local_mean(x * y) - ux * uy)
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    ssim_map = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return _active_mean(ssim_map.flatten(2).mean(dim=2), active)
