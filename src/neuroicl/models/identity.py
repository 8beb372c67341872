"""Identity reference: the target input is the prediction (for image tasks, the score of doing nothing).

Shapes: ``target_in [B, 3, H, W]`` -> ``[B, 3, H, W]``; the context is accepted and ignored. The
output is the input itself, in output space, so ``predict`` ignores the objective's activation.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from neuroicl.models.base import Predictor
from neuroicl.models.losses import Objective


@dataclass(frozen=True)
class IdentityConfig:
    """The identity has no hyperparameters."""


class Identity(nn.Module, Predictor):
    """``predict`` returns ``target_in``: an ``nn.Module`` without parameters, like the floor."""

    def __init__(self, config: IdentityConfig = IdentityConfig()) -> None:
        super().__init__()
        self.config = config

    def forward(self, target_in: Tensor, context_in: Tensor, context_out: Tensor) -> Tensor:
        return target_in

    def predict(self, target_in: Tensor, context_in: Tensor, context_out: Tensor, objective: Objective) -> Tensor:
        """``target_in`` itself, ``[B, 3, H, W]``."""
        return target_in
