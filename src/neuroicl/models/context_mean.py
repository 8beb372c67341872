"""Context-mean floor: predict the (weighted) mean of the context outputs.

A parameter-free in-context predictor that every learned model must beat: for a target whose
output barely depends on the input (e.g. a mask at a fixed position in registered scans) the
mean context output is already a fair guess.

    uniform:    y = mean_L context_out
    similarity: y = sum_L w_L context_out,  w = softmax_L(-mse(target_in, context_in_L) / T)

Shapes: ``target_in [B, 3, H, W]``, ``context_in``/``context_out [B, L, 3, H, W]``
-> ``[B, 3, H, W]``.
The output is already in output space, so ``predict`` ignores the objective's activation.
"""

from __future__ import annotations

from dataclasses import dataclass

import einops
from torch import Tensor, nn

from neuroicl.models.base import Predictor, check_inputs
from neuroicl.models.losses import Objective

WEIGHTINGS = ("uniform", "similarity")


@dataclass(frozen=True)
class ContextMeanConfig:
    """Context-mean hyperparameters.

    Attributes:
        weighting: ``"uniform"`` or ``"similarity"`` (softmax over L of the negative mean squared
            difference between target and context inputs).
        temperature: softmax temperature T of ``"similarity"``, > 0 (smaller: closer to nearest
            neighbour).
    """

    weighting: str = "uniform"
    temperature: float = 0.1

    def __post_init__(self) -> None:
        if self.weighting not in WEIGHTINGS:
            raise ValueError(
                f"ContextMeanConfig.weighting must be one of {WEIGHTINGS}, got {self.weighting!r}"
            )
        t = self.temperature
        if isinstance(t, bool) or not isinstance(t, int | float) or not t > 0:
            raise ValueError(f"ContextMeanConfig.temperature must be a number > 0, got {t!r}")


class ContextMean(nn.Module, Predictor):
    """The floor: an ``nn.Module`` without parameters, so it moves and measures like the others."""

    def __init__(self, config: ContextMeanConfig = ContextMeanConfig()) -> None:
        super().__init__()
        self.config = config

    def weights(self, target_in: Tensor, context_in: Tensor) -> Tensor:
        """Weights ``[B, L]`` (summing to 1 over L) of the context items."""
        b, l = context_in.shape[:2]
        if self.config.weighting == "uniform":
            return context_in.new_full((b, l), 1.0 / l)
        distance = (context_in - target_in.unsqueeze(1)).square().flatten(2).mean(dim=2)  # B L
        return (-distance / self.config.temperature).softmax(dim=1)

    def forward(self, target_in: Tensor, context_in: Tensor, context_out: Tensor) -> Tensor:
        """The weighted context mean ``[B, 3, H, W]``."""
        check_inputs(target_in, context_in, context_out, min_context=1)
        w = self.weights(target_in, context_in)
        return einops.einsum(w, context_out, "B L, B L C H W -> B C H W")

    def predict(
        self, target_in: Tensor, context_in: Tensor, context_out: Tensor, objective: Objective
    ) -> Tensor:
        """Same as ``forward``: the context outputs are already in output space."""
        return self(target_in, context_in, context_out)
