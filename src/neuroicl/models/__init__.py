"""Predictors: Neuralizer, the task-specific U-Net, UniverSeg, the context-mean floor and the identity.

All share one interface (:mod:`.base`): ``predict(target_in [B,3,H,W], context_in [B,L,3,H,W],
context_out [B,L,3,H,W], objective) -> [B,3,H,W]``; build them with :func:`build_model`.
"""

from neuroicl.models.base import IMAGE_CHANNELS, Predictor, TrainablePredictor
from neuroicl.models.factory import MODELS, build_model, model_config
from neuroicl.models.losses import TASK_FAMILIES, Objective, objective_for

__all__ = [
    "IMAGE_CHANNELS",
    "MODELS",
    "TASK_FAMILIES",
    "Objective",
    "Predictor",
    "TrainablePredictor",
    "build_model",
    "model_config",
    "objective_for",
]
