"""The one interface every predictor implements.

An in-context predictor maps a target input and a context set of input/output pairs to a
prediction for the target (Neuralizer supplement, Sec. G: input ``x_t`` with context
``{(x_{t,j}, y_{t,j})}_{j=1}^L``):

    target_in   [B, 3, H, W]
    context_in  [B, L, 3, H, W]
    context_out [B, L, 3, H, W]
    ->          [B, 3, H, W]

Two levels of the interface:

* :class:`Predictor` — anything that can ``predict``. ``predict`` returns the prediction in
  *output space*, i.e. after the task family's output activation (probabilities for
  segmentation, intensities for reconstruction). Comparators that are not trained by a plain
  loss on a forward pass (a network fitted at test time, a two-stage domain-adaptation model,
  the context-mean floor) implement only this.
* :class:`TrainablePredictor` — an ``nn.Module`` whose ``forward`` returns the *raw*
  (pre-activation) output; ``predict`` applies the objective's activation and ``loss`` the
  objective's per-sample loss. Task-specific models accept the context and ignore it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import torch
from torch import Tensor, nn

from neuroicl.models.losses import Objective, objective_for

#: Channels of every image in the interface (up to three modalities, or a replicated mask).
IMAGE_CHANNELS = 3


class Predictor(ABC):
    """Anything that predicts a target output from a target input and a context set.

    Attributes:
        mask_activation: the output activation for the mask families: ``"identity"`` (masks predicted
            in [0, 1] like images, as Neuralizer's public code does) or ``"sigmoid"`` (a method that
            predicts logits, UniverSeg).
    """

    mask_activation: ClassVar[str] = "identity"

    def objective(self, family: str) -> Objective:
        """This model's activation and loss for task ``family`` (:func:`neuroicl.models.losses.objective_for`)."""
        return objective_for(family, mask_activation=self.mask_activation)

    @abstractmethod
    def predict(
        self, target_in: Tensor, context_in: Tensor, context_out: Tensor, objective: Objective
    ) -> Tensor:
        """Return the prediction ``[B, 3, H, W]`` in output space (after the activation).

        Args:
            target_in: ``[B, 3, H, W]``.
            context_in: ``[B, L, 3, H, W]``.
            context_out: ``[B, L, 3, H, W]``.
            objective: the task family's output activation and loss (:mod:`.losses`).
        """


class TrainablePredictor(nn.Module, Predictor):
    """A predictor trained by gradient descent on ``loss``.

    Subclasses build their layers inside ``with torch.device("meta")`` and finish ``__init__``
    with :meth:`materialize`, so that construction consumes no global random numbers and a model
    built on the meta device (for cost measurement) never allocates weights.
    """

    @abstractmethod
    def forward(self, target_in: Tensor, context_in: Tensor, context_out: Tensor) -> Tensor:
        """Return the raw (pre-activation) output ``[B, 3, H, W]``."""

    @abstractmethod
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Initialise every parameter, drawing only from ``generator`` (global RNG if None)."""

    def materialize(self, device: torch.device | str, generator: torch.Generator | None) -> None:
        """Move meta-built layers to ``device`` and initialise them; a no-op on ``meta``."""
        if torch.device(device).type == "meta":
            return
        self.to_empty(device=device)
        with torch.no_grad():
            self.reset_parameters(generator)

    def predict(
        self, target_in: Tensor, context_in: Tensor, context_out: Tensor, objective: Objective
    ) -> Tensor:
        """``objective.activate(self(target_in, context_in, context_out))``, ``[B, 3, H, W]``."""
        return objective.activate(self(target_in, context_in, context_out))

    def loss(
        self,
        target_in: Tensor,
        context_in: Tensor,
        context_out: Tensor,
        target_out: Tensor,
        objective: Objective,
    ) -> Tensor:
        """Per-sample loss ``[B]`` of the prediction against ``target_out [B, 3, H, W]``."""
        return objective.per_sample_loss(self(target_in, context_in, context_out), target_out)


def check_inputs(
    target_in: Tensor, context_in: Tensor, context_out: Tensor, *, min_context: int = 1
) -> None:
    """Raise ValueError unless the three tensors follow the interface shapes.

    ``target_in [B, 3, H, W]``, ``context_in`` and ``context_out [B, L, 3, H, W]`` with the same
    B, H, W and ``L >= min_context``.
    """
    if target_in.ndim != 4 or target_in.shape[1] != IMAGE_CHANNELS:
        raise ValueError(
            f"target_in must have shape [B, {IMAGE_CHANNELS}, H, W], got {tuple(target_in.shape)}"
        )
    b, _, h, w = target_in.shape
    for name, tensor in (("context_in", context_in), ("context_out", context_out)):
        if tensor.ndim != 5 or tensor.shape[0] != b or tensor.shape[2:] != (IMAGE_CHANNELS, h, w):
            raise ValueError(
                f"{name} must have shape [B={b}, L, {IMAGE_CHANNELS}, H={h}, W={w}], "
                f"got {tuple(tensor.shape)}"
            )
    if context_in.shape[1] != context_out.shape[1]:
        raise ValueError(
            f"context_in and context_out must have the same context size L, got "
            f"{context_in.shape[1]} and {context_out.shape[1]}"
        )
    if context_in.shape[1] < min_context:
        raise ValueError(
            f"this model needs at least {min_context} context pair(s), got L={context_in.shape[1]}"
        )


def check_int(owner: str, name: str, value: object, minimum: int) -> None:
    """Raise ValueError unless ``value`` is an int (not bool) ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{owner}.{name} must be an integer >= {minimum}, got {value!r}")


def check_bool(owner: str, name: str, value: object) -> None:
    """Raise ValueError unless ``value`` is a bool."""
    if not isinstance(value, bool):
        raise ValueError(f"{owner}.{name} must be true or false, got {value!r}")
