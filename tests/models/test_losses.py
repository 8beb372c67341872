"""Output activations and per-sample losses of the task families."""

import pytest
import torch

from neuroicl.models.losses import Objective, l1_loss, mse_loss, objective_for, soft_dice_loss


def test_soft_dice_is_zero_for_a_perfect_mask():
    mask = (torch.arange(2 * 3 * 4 * 4).reshape(2, 3, 4, 4) % 3 == 0).float()
    assert torch.allclose(soft_dice_loss(mask, mask), torch.zeros(2))


def test_soft_dice_is_near_one_for_the_complement():
    mask = torch.zeros(1, 3, 16, 16)
    mask[..., :8] = 1.0
    assert soft_dice_loss(1.0 - mask, mask).item() > 0.99


def test_mse_and_l1_values():
    pred, target = torch.zeros(2, 1, 2, 2), torch.full((2, 1, 2, 2), 2.0)
    assert torch.equal(mse_loss(pred, target), torch.tensor([4.0, 4.0]))
    assert torch.equal(l1_loss(pred, target), torch.tensor([2.0, 2.0]))


def test_mask_objective_scores_the_raw_output_as_neuralizers_code_does():
    """Masks are predicted in [0, 1] without an activation (the public code rounds the raw output)."""
    objective = objective_for("skull_strip")
    assert (objective.activation, objective.loss) == ("identity", "soft_dice")
    mask = torch.ones(1, 3, 4, 4)
    assert objective.per_sample_loss(mask, mask).item() == pytest.approx(0.0)
    assert objective.per_sample_loss(2 * mask, mask).item() > 0.1  # overshooting the mask costs too


def test_a_model_can_ask_for_a_sigmoid_on_masks_only():
    objective = objective_for("skull_strip", mask_activation="sigmoid")
    raw = torch.full((1, 3, 4, 4), 20.0)  # sigmoid ~ 1
    assert objective.per_sample_loss(raw, torch.ones(1, 3, 4, 4)).item() < 1e-6
    assert objective_for("reconstruction", mask_activation="sigmoid").activation == "identity"


def test_reconstruction_loss_can_be_l1():
    objective = objective_for("reconstruction", loss="l1")
    loss = objective.per_sample_loss(torch.zeros(1, 3, 2, 2), torch.full((1, 3, 2, 2), -3.0))
    assert loss.item() == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"activation": "softmax", "loss": "mse"}, "activation"),
        ({"activation": "identity", "loss": "bce"}, "loss"),
    ],
)
def test_bad_objective_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Objective(**kwargs)


def test_unknown_family_raises_and_lists_valid():
    with pytest.raises(ValueError, match="registration.*segmentation"):
        objective_for("registration")


def test_loss_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shapes differ"):
        objective_for("transfer").per_sample_loss(torch.zeros(1, 3, 4, 4), torch.zeros(1, 1, 4, 4))
