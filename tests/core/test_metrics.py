"""Batched evaluation metrics: agreement with scikit-image, active-channel pooling, edge cases, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuroicl.core.metrics import dice, dice_score, generalised_dice, iou_score, mae, psnr, ssim


def _pair(seed: int, shape: tuple[int, ...] = (1, 1, 24, 19)) -> tuple[torch.Tensor, torch.Tensor]:
    """A target in [0, 1] ``[B, C, H, W]`` and a noisy prediction of it (so SSIM is far from 0)."""
    rng = np.random.default_rng(seed)
    target = rng.random(shape)
    pred = np.clip(target + 0.15 * rng.standard_normal(shape), 0.0, 1.0)
    return torch.from_numpy(pred), torch.from_numpy(target)


def _all_active(pred: torch.Tensor) -> torch.Tensor:
    return torch.ones(pred.shape[:2], dtype=torch.bool)


@pytest.fixture(scope="module")
def skimage_metrics():
    return pytest.importorskip("skimage.metrics")


@pytest.mark.parametrize(("window", "data_range"), [(7, 1.0), (5, 1.0), (7, 2.0)])
def test_ssim_matches_skimage(skimage_metrics, window: int, data_range: float) -> None:
    pred, target = _pair(0)
    pred, target = pred * data_range, target * data_range
    expected = skimage_metrics.structural_similarity(
        pred[0, 0].numpy(), target[0, 0].numpy(), data_range=data_range, win_size=window
    )
    got = ssim(pred, target, _all_active(pred), data_range=data_range, window=window)
    assert got.shape == (1,)
    assert got.dtype == torch.float32
    assert got.item() == pytest.approx(expected, abs=1e-4)


def test_psnr_matches_skimage(skimage_metrics) -> None:
    pred, target = _pair(1)
    expected = skimage_metrics.peak_signal_noise_ratio(target[0, 0].numpy(), pred[0, 0].numpy(), data_range=1.0)
    assert psnr(pred, target, _all_active(pred)).item() == pytest.approx(expected, abs=1e-4)


def test_mae_matches_numpy() -> None:
    pred, target = _pair(2)
    expected = np.abs(pred.numpy() - target.numpy()).mean()
    assert mae(pred, target, _all_active(pred)).item() == pytest.approx(expected, abs=1e-6)


def test_metrics_are_per_sample(skimage_metrics) -> None:
    pred, target = _pair(3, shape=(3, 1, 16, 16))
    got = ssim(pred, target, _all_active(pred))
    expected = [
        skimage_metrics.structural_similarity(p[0].numpy(), t[0].numpy(), data_range=1.0)
        for p, t in zip(pred, target, strict=True)
    ]
    assert got.shape == (3,)
    assert got.tolist() == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("metric", [dice_score, iou_score, psnr, mae, ssim])
def test_inactive_channel_is_ignored(metric) -> None:
    pred, target = _pair(4, shape=(2, 3, 16, 16))
    active = torch.tensor([[True, False, True], [False, True, False]])
    garbage_pred, garbage_target = pred.clone(), target.clone()
    garbage_pred[0, 1] = float("nan")
    garbage_target[0, 1] = 1e6
    garbage_pred[1, 0] = -5.0
    garbage_pred[1, 2] = float("inf")
    clean = metric(pred, target, active)
    assert torch.isfinite(clean).all()
    torch.testing.assert_close(metric(garbage_pred, garbage_target, active), clean)


def test_psnr_and_mae_pool_pixels_over_active_channels() -> None:
    target = torch.zeros(1, 3, 8, 8)
    pred = target.clone()
    pred[0, 0] = 0.1
    pred[0, 1] = 0.3
    pred[0, 2] = 0.9  # inactive
    active = torch.tensor([[True, True, False]])
    assert mae(pred, target, active).item() == pytest.approx(0.2)
    expected_mse = (0.1**2 + 0.3**2) / 2
    assert psnr(pred, target, active).item() == pytest.approx(-10 * np.log10(expected_mse), abs=1e-4)


def test_ssim_averages_active_channels(skimage_metrics) -> None:
    pred, target = _pair(5, shape=(1, 2, 16, 16))
    per_channel = [
        skimage_metrics.structural_similarity(pred[0, c].numpy(), target[0, c].numpy(), data_range=1.0)
        for c in range(2)
    ]
    assert ssim(pred, target, _all_active(pred)).item() == pytest.approx(np.mean(per_channel), abs=1e-4)


def test_dice_pools_active_channels_as_one_mask() -> None:
    rng = np.random.default_rng(6)
    pred = rng.random((1, 3, 12, 12))
    target = (rng.random((1, 3, 12, 12)) > 0.5).astype(float)
    active = torch.tensor([[True, True, False]])
    expected = dice(pred[0, :2] > 0.5, target[0, :2] > 0.5)
    got = dice_score(torch.from_numpy(pred), torch.from_numpy(target), active)
    assert got.item() == pytest.approx(expected)


def test_dice_edge_cases() -> None:
    empty = torch.zeros(1, 1, 8, 8)
    left = torch.zeros(1, 1, 8, 8)
    left[..., :4] = 1.0
    right = 1.0 - left
    active = _all_active(empty)
    assert dice_score(empty, empty, active).item() == 1.0
    assert dice_score(left, right, active).item() == 0.0
    assert dice_score(left, left, active).item() == 1.0
    assert dice_score(empty, left, active).item() == 0.0


def test_dice_threshold() -> None:
    target = torch.ones(1, 1, 8, 8)
    pred = torch.full((1, 1, 8, 8), 0.6)
    active = _all_active(pred)
    assert dice_score(pred, target, active).item() == 1.0
    assert dice_score(pred, target, active, threshold=0.7).item() == 0.0


def test_identical_images() -> None:
    image, _ = _pair(7, shape=(2, 2, 16, 16))
    active = _all_active(image)
    assert psnr(image, image, active).tolist() == [100.0, 100.0]
    torch.testing.assert_close(ssim(image, image, active), torch.ones(2))
    assert mae(image, image, active).tolist() == [0.0, 0.0]


def test_no_autograd_graph() -> None:
    pred = torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(0), requires_grad=True)
    target = torch.zeros(1, 1, 8, 8)
    active = _all_active(pred)
    assert not any(metric(pred, target, active).requires_grad for metric in (dice_score, iou_score, psnr, mae, ssim))


def test_pred_target_shape_mismatch() -> None:
    with pytest.raises(ValueError, match=r"\(1, 1, 8, 8\).*\(1, 1, 8, 9\)"):
        psnr(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 9), torch.ones(1, 1, dtype=torch.bool))


def test_not_four_dimensional() -> None:
    with pytest.raises(ValueError, match=r"\[B, C, H, W\].*\(1, 8, 8\)"):
        mae(torch.zeros(1, 8, 8), torch.zeros(1, 8, 8), torch.ones(1, 1, dtype=torch.bool))


def test_active_shape() -> None:
    pred = torch.zeros(2, 3, 8, 8)
    with pytest.raises(ValueError, match=r"active must be \[B, C\] = \(2, 3\).*got \(2, 2\)"):
        dice_score(pred, pred, torch.ones(2, 2, dtype=torch.bool))


def test_active_must_be_bool() -> None:
    pred = torch.zeros(1, 2, 8, 8)
    with pytest.raises(TypeError, match="bool"):
        mae(pred, pred, torch.ones(1, 2))


def test_sample_without_active_channel() -> None:
    pred = torch.zeros(3, 2, 8, 8)
    active = torch.tensor([[True, False], [False, False], [False, True]])
    with pytest.raises(ValueError, match=r"samples \[1\] have no active channel"):
        psnr(pred, pred, active)


def test_ssim_image_smaller_than_window() -> None:
    pred = torch.zeros(1, 1, 6, 12)
    with pytest.raises(ValueError, match="H, W >= window=7"):
        ssim(pred, pred, _all_active(pred))


def test_ssim_even_window() -> None:
    pred = torch.zeros(1, 1, 8, 8)
    with pytest.raises(ValueError, match="odd"):
        ssim(pred, pred, _all_active(pred), window=4)


def test_nonpositive_data_range() -> None:
    pred = torch.zeros(1, 1, 8, 8)
    with pytest.raises(ValueError, match="data_range must be positive"):
        psnr(pred, pred, _all_active(pred), data_range=0.0)


def test_generalised_dice_hand_computed() -> None:
    """Four pixels, target foreground {0}, prediction {0, 1}: weights 1/3² (background) and 1/1² (foreground),
    2 (2/9 + 1) / (5/9 + 3) = 22/32; the inactive channel's wrong prediction is ignored; both empty gives 1."""
    target = torch.zeros(2, 2, 1, 4)
    target[0, 0, 0, 0] = 1
    pred = torch.zeros(2, 2, 1, 4)
    pred[0, 0, 0, :2] = 0.9
    pred[:, 1] = 1.0  # channel 1 is inactive in both samples
    active = torch.tensor([[True, False], [True, False]])
    assert torch.allclose(generalised_dice(pred, target, active), torch.tensor([22 / 32, 1.0]))
    assert generalised_dice(target, target, active).tolist() == [1.0, 1.0]


def test_iou_hand_computed() -> None:
    """Six pixels: prediction {0, 1}, target {0, 3} gives 1 / 3; disjoint 0; both empty 1; an inactive channel's
    wrong prediction is ignored; active channels pool into one mask (the first plus an exact second: 3 / 5)."""
    pred, target = torch.zeros(3, 2, 1, 6), torch.zeros(3, 2, 1, 6)
    pred[0, 0, 0, :2] = 0.9
    target[0, 0, 0, [0, 3]] = 1
    pred[1, 0, 0, 0], target[1, 0, 0, 5] = 1, 1
    pred[:, 1] = 1.0  # channel 1 is inactive
    active = torch.tensor([[True, False], [True, False], [True, False]])
    assert torch.allclose(iou_score(pred, target, active), torch.tensor([1 / 3, 0.0, 1.0]))
    pooled_pred, pooled_target = pred[:1].clone(), target[:1].clone()
    pooled_pred[0, 1], pooled_target[0, 1] = target[0, 0], target[0, 0]  # I = 1 + 2, U = 3 + 2
    both = torch.ones(1, 2, dtype=torch.bool)
    assert iou_score(pooled_pred, pooled_target, both).item() == pytest.approx(3 / 5)


def test_iou_is_dice_over_two_minus_dice() -> None:
    pred, target = _pair(9, shape=(4, 3, 16, 16))
    target = (target > 0.6).double()
    active = torch.tensor([[True, True, True], [True, False, False], [False, True, True], [True, False, True]])
    d = dice_score(pred, target, active)
    torch.testing.assert_close(iou_score(pred, target, active), d / (2 - d))
