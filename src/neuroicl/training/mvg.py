"""MVG's trainer (``Run.trainer = "mvg"``): Table 7 episodes of one prompt pair, drawn as canvases and masked.

Each step draws the run's episodes with one context pair (the paper's single prompt, Sec. 3.4) from the
shared training loop (:func:`neuroicl.training.loop.train`, resumable, the same schedule, checkpoints and
logs as every run) and replaces its loss by MVG's (:func:`mvg_step_loss`):

* the image canvas is [prompt input; query input], the label canvas [prompt output; query output], both
  ``[B, 3, 2H, W]`` (:func:`neuroicl.models.mvg.make_canvas`);
* a mask sample's prompt and query outputs are drawn in one colour per sample (``models.hyperparameters.
  mvg.colours``: random, predefined or binary; Sec. 3.2), chosen before either mask is read;
* each sample's patch mask is the whole query label (AR) for the mask families (or, with the setting
  ``segmentation_mask_ratio``, a block mask of that ratio: the Table 5c ablation) and, for the other tasks,
  AR with probability ``half_mask_ratio`` else a block mask of ``mask_ratio`` of the canvas (Sec. 4.1);
* the loss is smooth-L1 (beta 0.01) over the masked pixels, segmentation background weighted
  ``background_weight`` (the reference code's 0.1); the family weights of ``training.loss_weights``
  (made for Dice against MSE) are not applied: one loss serves every task here.

AdamW with MVG's parameter groups (:func:`neuroicl.models.mvg.param_groups`: no weight decay on 1-D
parameters and embeddings, layer-wise lr decay ``layer_decay``) at the run's ``weight_decay``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Any

import torch
from torch import Tensor

from neuroicl.models.mvg import MVG, make_canvas, param_groups
from neuroicl.models.mvg_masks import (
    BACKGROUND_WEIGHT,
    BLOCK_MASK_RATIO,
    HALF_MASK_RATIO,
    choose_colours,
    colourise,
    masked_smooth_l1,
    sample_task_mask,
)
from neuroicl.plan.cases import EvalSettings
from neuroicl.plan.families import FAMILIES, MASK_FAMILIES
from neuroicl.plan.runs import Run
from neuroicl.tasks.synthesize import Batch
from neuroicl.training.checkpoint import CheckpointStore
from neuroicl.training.data import Trained, TrainingData
from neuroicl.training.episodic import (
    RUN_OPTIMIZER_KEYS,
    case_drawer,
    checkpoint_key,
    held_out_classes,
    initial_model,
    network_settings,
    synthesizer,
    task_setup,
)
from neuroicl.training.loop import StepLoss, train
from neuroicl.training.world import World


@dataclass(frozen=True)
class MVGSettings:
    """MVG's training settings (``training.runs.mvg``; defaults: the reference code's).

    ``segmentation_mask_ratio``: None (the paper's) trains the mask families auto-regressively, the whole query
    label masked; a number in (0, 1) gives their samples a block mask of that ratio of the canvas instead (MIM,
    the ablation runs ``mvg-ablation_mim50`` / ``_mim75`` of :mod:`neuroicl.plan.mvg_study`). Inference is AR.
    """

    mask_ratio: float = BLOCK_MASK_RATIO
    half_mask_ratio: float = HALF_MASK_RATIO
    background_weight: float = BACKGROUND_WEIGHT
    layer_decay: float = 0.8
    weight_decay: float = 0.05
    segmentation_mask_ratio: float | None = None

    def __post_init__(self) -> None:
        for name in ("mask_ratio", "half_mask_ratio", "background_weight"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"training.runs.mvg.{name} must be in [0, 1], got {getattr(self, name)}")
        ratio = self.segmentation_mask_ratio
        if ratio is not None and (isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 < ratio < 1):
            raise ValueError(f"MVG setting segmentation_mask_ratio must be None (AR) or in (0, 1), got {ratio!r}")
        if not 0 < self.layer_decay <= 1 or self.weight_decay < 0:
            raise ValueError(f"training.runs.mvg: layer_decay in (0, 1], weight_decay >= 0; got {self}")

    @classmethod
    def of(cls, run: Run) -> MVGSettings:
        """The run's settings; its ``lr`` (:data:`RUN_OPTIMIZER_KEYS`) is the schedule's, read by ``settings_for``."""
        own = {f.name for f in fields(cls)}
        unknown = sorted(set(run.settings) - own - set(RUN_OPTIMIZER_KEYS))
        if unknown:
            raise ValueError(f"run {run.name!r}: unknown MVG settings {unknown}; valid: "
                             f"{sorted(own | set(RUN_OPTIMIZER_KEYS))}")
        return cls(**{key: value for key, value in run.settings.items() if key in own})


def canvases(batch: Batch, colours: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The image and label canvases ``[B, 3, 2H, W]`` of a batch's first context pair and target, and whether each
    sample is a mask family ``[B]``; mask outputs drawn in ``colours [B, 3]`` (inactive channels zero)."""
    is_mask = torch.tensor([f in MASK_FAMILIES for f in FAMILIES], device=batch.family_ids.device)[batch.family_ids]
    active = batch.active[:, :, None, None].to(batch.target_out.dtype)
    prompt, query = batch.context_out[:, 0] * active, batch.target_out * active
    paint = is_mask[:, None, None, None]
    prompt = torch.where(paint, colourise(prompt, colours), prompt)
    query = torch.where(paint, colourise(query, colours), query)
    return make_canvas(batch.context_in[:, 0], batch.target_in), make_canvas(prompt, query), is_mask


def mvg_step_loss(model: MVG, settings: MVGSettings) -> StepLoss:
    """The training loss of MVG ``model`` (its config: patch, grid, colours) with ``settings`` (module docstring)."""
    config = model.config

    def loss(forward, batch: Batch, weights, generator: torch.Generator) -> Tensor:
        b = len(batch.target_in)
        # the step's generator lives on the model's device; colours and masks are drawn on the CPU from its seeds
        colour_seed, mask_seed = torch.randint(2**62, (2,), generator=generator, device=generator.device).tolist()
        colours = choose_colours(config.colours, b, torch.Generator().manual_seed(colour_seed))
        image, label, is_mask = canvases(batch, colours.to(batch.target_in))
        mask = sample_task_mask(b, config.grid, settings.half_mask_ratio, settings.mask_ratio,
                                torch.Generator().manual_seed(mask_seed), always_ar=is_mask.cpu(),
                                forced_ratio=settings.segmentation_mask_ratio).to(image.device)
        background = torch.where(is_mask, settings.background_weight, 1.0)
        pred = forward(image, label, mask).float()
        return masked_smooth_l1(pred, label.float(), mask, config.patch_size, background_weight=background).mean()

    return loss


def train_mvg(run: Run, config: dict[str, Any], data: TrainingData, checkpoint_root: str | os.PathLike,
              stamp: Any = None, progress: bool = True, world: World | None = None,
              ) -> Trained:
    """Train ``run``'s MVG on its tasks' episodes of one prompt pair; return ``{"": model}``, the log rows and no
    extras."""
    world = world or World()
    settings = MVGSettings.of(run)
    holdout = held_out_classes(run, config)
    one_prompt = replace(run, max_context=1)  # training draws one context pair; evaluation may average more
    setup = task_setup(one_prompt, config["tasks"], data.pools, config["preprocess"]["slices"]["axis"], holdout)
    hparams = config["models"]["hyperparameters"][run.model]
    train_settings = network_settings(run, config["training"], "")
    model = initial_model(run, hparams, train_settings, data.device)
    h, w = data.pools[0].images.shape[-2:]
    if (h, w) != (model.config.image_size, model.config.image_size):
        raise ValueError(f"run {run.name!r}: models.hyperparameters.mvg.image_size is {model.config.image_size} but "
                         f"the slices are {h} x {w}; set image_size to the slice size")
    key = checkpoint_key(run, config, "", train_settings, data.subjects, stamp, world.size, holdout)
    store = CheckpointStore(os.path.join(checkpoint_root, run.name), key)
    draw = case_drawer(one_prompt, setup, data.pools, EvalSettings.from_config(config["evaluation"]), "",
                       train_settings.batch_size)
    groups = param_groups(model, train_settings.lr, settings.weight_decay, settings.layer_decay)
    log = train(model, draw, synthesizer(data.pools, setup), train_settings, store, name=run.name,
                progress=progress and world.rank == 0, world=world, loss_fn=mvg_step_loss(model, settings),
                param_groups=groups)
    return {"": model}, [{"label": "", **row} for row in log], {}
