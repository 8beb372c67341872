"""Output activation and training loss per task family.

Neuralizer trains one network on every task and picks the output activation and loss per task
(supplement, Sec. G; public inference code): sigmoid + soft Dice for binary outputs
(segmentation, skull stripping), identity + MSE for intensity outputs (reconstruction,
denoising, modality transfer, ...). L1 is offered as an alternative intensity loss.

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
        loss: one of :data:`LOSSES`; ``"soft_dice"`` needs ``activation="sigmoid"``.
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
        if self.loss == "soft_dice" and self.activation != "sigmoid":
            raise ValueError(
                f"Objective.loss='soft_dice' needs activation='sigmoid', got {self.activation!r}"
            )

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


#: Default objective of each task family (Neuralizer supplement, Sec. G): sigmoid + soft Dice for the
#: mask families, identity + MSE for the others (:mod:`neuroicl.plan.families`).
TASK_FAMILIES: dict[str, Objective] = {
    family: Objective("sigmoid", "soft_dice") if family in MASK_FAMILIES else Objective("identity", "mse")
    for family in FAMILIES
}


def objective_for(family: str, loss: str | None = None) -> Objective:
    """The objective of task ``family``, with its loss replaced by ``loss`` if given.

    Example: ``objective_for("reconstruction", loss="l1")``.
    """
    if family not in TASK_FAMILIES:
        raise ValueError(f"unknown task family {family!r}; valid: {sorted(TASK_FAMILIES)}")
    objective = TASK_FAMILIES[family]
    return objective if loss is None else replace(objective, loss=loss)
