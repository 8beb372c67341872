"""The optimisation loop: AdamW, warm-up + cosine schedule, per-family losses, checkpoints, resume.

Every step draws its episodes and synthesis noise from generators seeded by ``(seed, step)``, so
a run resumed from a checkpoint sees exactly the batches an uninterrupted run sees, and on the
CPU the same seed gives the same weights. Losses follow the task family and the model
(:meth:`neuroicl.models.base.Predictor.objective`): soft Dice for masks, MSE for images, on the target's
scored channels only (``Batch.active``).

Example:
    >>> log = train(model, draw, synth, TrainSettings(steps=100, batch_size=8), store)
    >>> log[-1]["step"]
    100
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from neuroicl.models.base import TrainablePredictor
from neuroicl.plan.families import FAMILIES
from neuroicl.tasks.episodes import Episode, stable_seed
from neuroicl.tasks.synthesize import Batch
from neuroicl.training.checkpoint import CheckpointStore
from neuroicl.training.optimizers import adam_kernel
from neuroicl.training.world import World, mean_over_ranks, replicate

_log = logging.getLogger(__name__)

#: Logit written into unscored channels of a sigmoid output (probability ~1e-13, no gradient).
_OFF_LOGIT = -30.0


#: The values of ``training.precision``.
PRECISIONS = ("auto", "float32", "bfloat16")


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 natively: CUDA, or a CPU with AMX or AVX512-BF16 units (elsewhere
    the CPU emulates it, slower than float32)."""
    if device.type == "cuda":
        return True
    return device.type == "cpu" and (torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of the training step for ``training.precision`` on ``device`` (None: float32).

    ``auto`` takes bfloat16 where the device has it natively (:func:`native_bf16`): 1.41x the Neuralizer
    step and 1.56x the U-Net step on an AMX Xeon at demo scale (docs/performance.md).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"training.precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "bfloat16" or (precision == "auto" and native_bf16(device)):
        return torch.bfloat16
    return None


@dataclass(frozen=True)
class TrainSettings:
    """One run's optimisation settings (``training`` config block plus the run's steps and batch).

    Attributes:
        steps: optimisation steps.
        batch_size: episodes per step.
        lr: peak AdamW learning rate.
        weight_decay: AdamW weight decay.
        warmup_steps: linear warm-up from 0 to ``lr``.
        min_lr_fraction: the cosine decay ends at ``lr * min_lr_fraction``.
        grad_clip: global gradient-norm clip (0 = none).
        checkpoint_every: steps between checkpoints (the last step is always checkpointed).
        log_every: steps per CSV log row.
        seed: seeds the weights and every step's draws.
        compile: ``torch.compile`` the model (CUDA only).
        precision: ``float32``; ``bfloat16`` (autocast of the forward pass and loss, float32 weights and
            optimiser); or ``auto``: bfloat16 where the device computes it natively (:func:`autocast_dtype`).
        loss_weights: task family → factor on its samples' losses (missing families: 1). Soft Dice
            is O(0.1–1) while the MSE of a [0, 1] image is O(0.001–0.01), so unweighted the mask
            tasks dominate the shared gradient.
    """

    steps: int
    batch_size: int
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 0
    min_lr_fraction: float = 0.05
    grad_clip: float = 1.0
    checkpoint_every: int = 100
    log_every: int = 10
    seed: int = 0
    compile: bool = False
    precision: str = "float32"
    loss_weights: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"training.precision must be one of {PRECISIONS}, got {self.precision!r}")
        if any(not weight >= 0 for weight in self.loss_weights.values()):
            raise ValueError(f"training.loss_weights must be >= 0, got {self.loss_weights}")
        for key in ("steps", "batch_size", "checkpoint_every", "log_every"):
            if getattr(self, key) < 1:
                raise ValueError(f"training.{key} must be >= 1, got {getattr(self, key)}")
        if not self.lr > 0 or self.weight_decay < 0 or self.warmup_steps < 0 or self.grad_clip < 0:
            raise ValueError(f"training.optimizer: lr > 0, weight_decay, warmup_steps, grad_clip >= 0; got {self}")
        if self.checkpoint_every % self.log_every:
            raise ValueError(
                f"training.checkpoint_every ({self.checkpoint_every}) must be a multiple of training.log_every "
                f"({self.log_every}), so that a resumed run logs the same rows"
            )
        if not 0 <= self.min_lr_fraction <= 1:
            raise ValueError(f"training.optimizer.min_lr_fraction must be in [0, 1], got {self.min_lr_fraction}")

    def lr_at(self, step: int) -> float:
        """Learning rate of step ``step`` (0-based): linear warm-up, then cosine to ``lr * min_lr_fraction``."""
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        span = max(self.steps - self.warmup_steps, 1)
        progress = min((step - self.warmup_steps) / span, 1.0)
        floor = self.min_lr_fraction
        return self.lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def batch_loss(model: torch.nn.Module, batch: Batch, weights: dict[str, float] | None = None) -> Tensor:
    """Mean over the batch of each sample's family loss on its scored channels, times its family's
    weight in ``weights`` (default 1).

    Each family present scores the whole batch and keeps its own samples (``batch.family_ids``): a
    few elementwise passes instead of gathering each family's samples with an index uploaded from
    the host.
    """
    objectives = getattr(model, "module", model)  # the model itself under DDP
    raw = model(batch.target_in, batch.context_in, batch.context_out).float()
    off = ~batch.active[:, :, None, None]
    target = batch.target_out.masked_fill(off, 0.0)
    loss = torch.zeros(len(raw), device=raw.device)
    for family in sorted(set(batch.families)):
        objective = objectives.objective(family)
        fill = _OFF_LOGIT if objective.activation == "sigmoid" else 0.0
        weight = (weights or {}).get(family, 1.0)
        mine = batch.family_ids == FAMILIES.index(family)
        loss = torch.where(mine, objective.per_sample_loss(raw.masked_fill(off, fill), target) * weight, loss)
    return loss.mean()


#: ``loss(forward, batch, weights, generator) -> scalar``: a training step's loss of the (possibly DDP-wrapped)
#: model's ``forward`` on a batch, with the family weights and the step's generator (after synthesis).
StepLoss = Callable[[torch.nn.Module, Batch, dict[str, float] | None, torch.Generator], Tensor]


def _batch_loss(model: torch.nn.Module, batch: Batch, weights: dict[str, float] | None,
                generator: torch.Generator) -> Tensor:
    """:func:`batch_loss` as a :data:`StepLoss` (it draws nothing)."""
    return batch_loss(model, batch, weights)


def step_generators(
    seed: int, step: int, device: torch.device, world: World | None = None
) -> tuple[np.random.Generator, torch.Generator]:
    """The episode RNG and the synthesis generator of one step (independent of everything before it).

    Every rank gets the same episode RNG (they all draw the step's B episodes); under DDP (N > 1
    processes) each rank's synthesis generator is seeded by ``(seed, step, rank)``, with one process by
    ``(seed, step)`` as it always was.
    """
    rng = np.random.default_rng([seed, step])
    parts = ("train", seed, step) if world is None or world.size == 1 else ("train", seed, step, world.rank)
    generator = torch.Generator(device=device).manual_seed(stable_seed(*parts))
    return rng, generator


def train(
    model: TrainablePredictor,
    draw: Callable[[np.random.Generator], list[Episode]],
    synth: Callable[[list[Episode], torch.Generator], Batch],
    settings: TrainSettings,
    store: CheckpointStore,
    *,
    name: str = "train",
    progress: bool = True,
    world: World | None = None,
    loss_fn: StepLoss | None = None,
    param_groups: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Train ``model`` in place, resuming from ``store``'s newest checkpoint; return the log rows.

    Under DDP (``world`` of N > 1 processes) every rank draws the step's B episodes and synthesises its
    B / N of them (:meth:`World.shard`), the wrapped model averages the gradients, the logged loss is the
    mean over the ranks and rank 0 alone writes the checkpoints; every rank resumes from the newest one.

    Args:
        model: initialised on its device (the weights are replaced on resume).
        draw: episodes of one step from that step's RNG.
        synth: the :class:`Batch` of those episodes from that step's generator (on the model's device).
        settings: optimisation settings.
        store: this run's checkpoints (keyed by its fingerprint).
        name: progress-bar label (the run, in messages).
        progress: show a tqdm bar.
        world: this process among the job's DDP workers (its process group initialised); None = one process.
        loss_fn: the step's loss (:data:`StepLoss`; default :func:`batch_loss`), for a model trained on
            something other than its ``forward`` on the batch (MVG's masked canvases).
        param_groups: AdamW parameter groups (default: every parameter alike); a group's ``lr_scale``
            multiplies the scheduled learning rate (layer-wise decay).

    Returns:
        One dict per ``log_every`` steps: step, loss (mean over those steps), lr, samples_per_s (the whole
        batch of every rank), seconds.

    Raises:
        ValueError: the batch size is not a multiple of N.
    """
    world = world or World()
    share = world.shard(settings.batch_size, name)
    device = next(model.parameters()).device
    cuda = device.type == "cuda"
    optimizer = torch.optim.AdamW(param_groups or model.parameters(), lr=settings.lr,
                                  weight_decay=settings.weight_decay, **adam_kernel(device))
    start, log = store.resume(model, optimizer)
    if start:
        _log.info("%s: resuming from the checkpoint of step %d", name, start)
    model = model.to(memory_format=torch.channels_last)  # faster convolutions on CUDA and x86 (docs/performance.md)
    replica = replicate(model, world)  # DDP when N > 1
    forward = torch.compile(replica) if settings.compile and cuda else replica
    dtype = autocast_dtype(settings.precision, device)
    if dtype is not None:
        _log.info("%s: %s autocast (training.precision: %s)", name, dtype, settings.precision)
    model.train()
    losses: list[Tensor] = []
    clock, elapsed = time.perf_counter(), float(log[-1]["seconds"]) if log else 0.0
    bar = tqdm(range(start, settings.steps), initial=start, total=settings.steps, desc=name, disable=not progress,
               mininterval=5.0)
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = settings.lr_at(step) * group.get("lr_scale", 1.0)
        rng, generator = step_generators(settings.seed, step, device, world)
        batch = synth(draw(rng)[share], generator)
        with torch.autocast(device_type=device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            loss = (loss_fn or _batch_loss)(forward, batch, settings.loss_weights, generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if settings.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
        optimizer.step()
        losses.append(loss.detach())
        done = step + 1
        if done % settings.log_every == 0 or done == settings.steps:
            now = time.perf_counter()
            elapsed += now - clock
            rate = len(losses) * settings.batch_size / max(now - clock, 1e-9)
            clock = now
            mean = float(mean_over_ranks(torch.stack(losses).mean(), world))  # the only host sync, once per log row
            row = {"step": done, "loss": mean, "lr": settings.lr_at(step), "samples_per_s": rate, "seconds": elapsed}
            log.append(row)
            bar.set_postfix(loss=f"{mean:.4f}")
            losses = []
        if world.rank == 0 and (done % settings.checkpoint_every == 0 or done == settings.steps):
            store.save(
                done,
                {
                    "step": done,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "log": log,
                    "settings": asdict(settings),
                },
            )
    bar.close()
    return log
