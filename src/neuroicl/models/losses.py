"""Output activation and training loss per task family.

Neuralizer trains one network on every task with one output for all of them: its public inference
code returns the raw output for every task and rounds it for a segmentation (``example.ipynb``:
``display_images(target_out.round())``), so masks, like images, are predicted in [0, 1] without an
activation. The loss follows the task family: soft Dice for binary outputs (segmentation, skull
stripping), MSE for intensity outputs (reconstruction, denoising, modality transfer, ...); L1 is
offered as an alternative intensity loss. A model whose own method squashes masks with a sigmoid
(UniverSeg) says so (:attr:`neuroicl.models.base.Predictor.mask_activation`).

Every loss here is per sample: ``[B, C, H, W] x [B, C, H, W] -> [B]``, so that a batch mixing
task families can be reduced by the caller.

Example:
    >>> objective = objective_for("segmentation")
    >>> logits = torch.zeros(2, 3, 8, 8)
    >>> objective.per_sample_loss(logits, torch.ones(2, 3, 8, 8)).shape
    torch.Size([2])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
from torch import Tensor

from neuroicl.plan.families import FAMILIES, MASK_FAMILIES

#: Additive smoothing of the soft Dice loss (V-Net form, as in Neuralizer's code).
DICE_SMOOTH = 1.0


def soft_dice_loss(pred: Tensor, target: Tensor) -> Tensor:
    """``1 - (2 sum(p q) + s) / (sum(p^2) + sum(q^2) + s)`` per sample, ``[B, C, H, W] -> [B]``.

    ``pred`` are probabilities (after the sigmoid), ``target`` a binary mask.
    """
    p = pred.flatten(1)
    q = target.flatten(1)
    intersection = (p * q).sum(dim=1)
    union = (p * p).sum(dim=1) + (q * q).sum(dim=1)
    return 1.0 - (2.0 * intersection + DICE_SMOOTH) / (union + DICE_SMOOTH)


def mse_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Mean squared error per sample, ``[B, C, H, W] -> [B]``."""
    return (pred - target).square().flatten(1).mean(dim=1)


def l1_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Mean absolute error per sample, ``[B, C, H, W] -> [B]``."""
    return (pred - target).abs().flatten(1).mean(dim=1)


ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "identity": lambda raw: raw,
    "sigmoid": torch.sigmoid,
}
LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "soft_dice": soft_dice_loss,
    "mse": mse_loss,
    "l1": l1_loss,
}


@dataclass(frozen=True)
class Objective:
    """An output activation and the loss applied to the activated output.

    Attributes:
        activation: one of :data:`ACTIVATIONS` (``"sigmoid"`` or ``"identity"``).
        loss: one of :data:`LOSSES`.
    """

    activation: str
    loss: str

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"Objective.activation must be one of {sorted(ACTIVATIONS)}, "
                f"got {self.activation!r}"
            )
        if self.loss not in LOSSES:
            raise ValueError(f"Objective.loss must be one of {sorted(LOSSES)}, got {self.loss!r}")

    def activate(self, raw: Tensor) -> Tensor:
        """Map the raw network output ``[B, C, H, W]`` to output space."""
        return ACTIVATIONS[self.activation](raw)

    def per_sample_loss(self, raw: Tensor, target: Tensor) -> Tensor:
        """Loss ``[B]`` of the activated ``raw`` against ``target``, both ``[B, C, H, W]``."""
        if raw.shape != target.shape:
            raise ValueError(
                f"prediction and target shapes differ: {tuple(raw.shape)} vs {tuple(target.shape)}"
            )
        return LOSSES[self.loss](self.activate(raw), target)


@dataclass(frozen=True)
class FamilyObjective(Objective):
    """An :class:`Objective` that also names its task family, for a model whose ``predict`` treats the families
    differently beyond the activation (MVG colours a mask prompt; the released Neuralizer weights read a mask or
    a single output image in channel 0 only)."""

    family: str = ""


#: Default objective of each task family (:mod:`neuroicl.plan.families`): soft Dice on the raw output for
#: the mask families (Neuralizer's public code), MSE on the raw output for the others.
TASK_FAMILIES: dict[str, Objective] = {
    family: Objective("identity", "soft_dice") if family in MASK_FAMILIES else Objective("identity", "mse")
    for family in FAMILIES
}


def objective_for(family: str, loss: str | None = None, mask_activation: str | None = None) -> Objective:
    """The objective of task ``family``, with its loss replaced by ``loss`` and, for a mask family, its
    activation by ``mask_activation`` (e.g. ``"sigmoid"``), where given.

    Example: ``objective_for("reconstruction", loss="l1")``.
    """
    if family not in TASK_FAMILIES:
        raise ValueError(f"unknown task family {family!r}; valid: {sorted(TASK_FAMILIES)}")
    objective = TASK_FAMILIES[family]
    if mask_activation is not None and family in MASK_FAMILIES:
        objective = replace(objective, activation=mask_activation)
    return objective if loss is None else replace(objective, loss=loss)
