"""MetaSeg's trainer: meta-learn the INR initialisation, then tune the segmentation head (``Run.trainer = "metaseg"``).

Per evaluation label (one binary network per segmentation class, as the task-specific U-Net; ``labels``: only
these, the study's ablation runs), on evaluation-style cases of the run's task drawn from its training subjects
(:class:`PairSampler`):

1. **Meta-learning** — ``steps`` outer Adam steps (``outer_lr``); each draws ``batch_size`` (image, mask) pairs,
   adapts a copy of the weights to each by ``inner_steps`` Adam steps on MSE + focal loss
   (:func:`neuroicl.models.metaseg.meta_gradient`, ``order``: second- or first-order MAML or Reptile;
   ``pixels`` random coordinates per inner step) and steps the meta-parameters on the adapted loss (on
   ``outer_pixels`` random coordinates; None: all).
   ``image_only`` meta-learns on the MSE alone (the ablation "meta-learn, image only"). With
   ``pretrain_steps`` (ours, for time), one image-only meta-learning on the classes' pairs comes first and every
   class's INR starts its own ``steps`` from it (its head from its own initialisation); the model file keeps
   that shared start (``start``). ``start_from``: a model file whose shared start the run's INRs begin from
   instead, for their own ``steps`` (the study's image-only ablation: MetaSeg's, so that the two differ only
   in the mask of those steps). The ablation's other initialisations take ``pretrain_steps + steps`` steps, as
   many as MetaSeg in all.
2. **Head tuning** — theta* frozen; ``head_images`` training pairs are fitted from it on the MSE alone for
   the model's T steps (:func:`neuroicl.models.metaseg.fit_pixels`), and the head is trained on their
   features for ``head_steps`` Adam steps (``head_lr``) with the focal loss, each on ``head_pixels`` pixels
   drawn from all the fitted images' pixels (None: all of them every step).

``init``: ``meta`` (MetaSeg), ``random`` (no meta-learning: the SIREN initialisation) or ``fixed`` (the
weights fitted to one training image for ``steps`` steps, the ablation's "fixed" initialisation); the heads of
those and of ``image_only`` start stage 2 from their random initialisation, MetaSeg's from the meta-learned one.
Checkpoints every ``training.checkpoint_every`` outer steps make stage 1 resumable; stage 2 is short and reruns.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, fields, replace
from typing import Any

import torch
from tqdm.auto import tqdm

from neuroicl.models.metaseg import (
    MetaSeg,
    features_of,
    fit_pixels,
    focal_loss,
    grid_coords,
    head_forward,
    meta_gradient,
)
from neuroicl.models.model_file import read_payload
from neuroicl.plan.cases import EvalSettings
from neuroicl.plan.runs import Run
from neuroicl.tasks.episodes import stable_seed
from neuroicl.training.checkpoint import CheckpointStore, file_stamp
from neuroicl.training.data import Trained, TrainingData
from neuroicl.training.episodic import (
    case_drawer,
    checkpoint_key,
    held_out_classes,
    initial_model,
    network_settings,
    synthesizer,
    task_setup,
)
from neuroicl.training.loop import step_generators
from neuroicl.training.optimizers import adam_kernel
from neuroicl.training.world import World

#: Initialisations of the ablation (the paper's Table 2).
INITS = ("meta", "random", "fixed")


@dataclass(frozen=True)
class MetaSegSettings:
    """The two stages' settings: ``training.runs.metaseg`` (config/README.md), ``init``/``image_only`` (ablation)."""

    inner_steps: int = 2
    order: str = "second"
    pixels: int | None = None
    outer_pixels: int | None = None
    gamma: float = 2.0
    outer_lr: float = 1e-4
    head_steps: int = 500
    head_lr: float = 5e-5
    head_images: int = 32
    head_pixels: int | None = 8192
    pretrain_steps: int = 0
    start_from: str | None = None
    init: str = "meta"
    image_only: bool = False
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.init not in INITS:
            raise ValueError(f"training.runs.metaseg.init must be one of {INITS}, got {self.init!r}")
        if self.inner_steps < 0 or self.head_steps < 0 or self.pretrain_steps < 0 or self.head_images < 1 or any(
                value is not None and value < 1 for value in (self.pixels, self.outer_pixels, self.head_pixels)):
            raise ValueError(f"training.runs.metaseg: inner_steps, head_steps, pretrain_steps >= 0, head_images, "
                             f"pixels, outer_pixels, head_pixels >= 1; got {self}")

    @classmethod
    def of(cls, run: Run) -> MetaSegSettings:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(run.settings) - known)
        if unknown:
            raise ValueError(f"run {run.name!r}: unknown MetaSeg settings {unknown}; valid: {sorted(known)}")
        return cls(**{**run.settings, "labels": tuple(run.settings.get("labels", ()))})


class PairSampler:
    """Training (image, mask) pairs of one class: ``sample(rng, generator, n)`` -> images ``[n, 3, H, W]`` and
    binary labels ``[n, H*W]``; evaluation-style cases of the run's task on slices that show the class
    (:func:`neuroicl.training.episodic.case_drawer`), one draw per pair."""

    def __init__(self, run: Run, setup, pools, evaluation: EvalSettings, label: str) -> None:
        self.draw = case_drawer(run, setup, pools, evaluation, label, 1)
        self.synth = synthesizer(pools, setup)

    def __call__(self, rng, generator: torch.Generator, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        batch = self.synth([self.draw(rng)[0] for _ in range(n)], generator)
        return batch.target_in.float(), (batch.target_out[:, 0] > 0.5).long().flatten(1)


class MixedSampler:
    """Pairs from several :class:`PairSampler` s: each draw picks one of them from ``rng``."""

    def __init__(self, samplers: list[PairSampler]) -> None:
        self.samplers = samplers

    def __call__(self, rng, generator: torch.Generator, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.samplers[int(rng.integers(len(self.samplers)))](rng, generator, n)


def network_labels(run: Run, evaluation: EvalSettings, meta: MetaSegSettings) -> list[str]:
    """The classes ``run`` trains a binary network for: ``meta.labels`` (the study's), or every evaluation
    label for a per-class run, or the one network "" (skull stripping)."""
    if not run.per_label:
        return [""]
    unknown = sorted(set(meta.labels) - set(evaluation.labels))
    if unknown:
        raise ValueError(f"run {run.name!r}: MetaSeg labels {unknown} are not evaluation.labels "
                         f"({sorted(evaluation.labels)})")
    return list(meta.labels) if meta.labels else list(evaluation.labels)


def train_metaseg(run: Run, config: dict[str, Any], data: TrainingData, checkpoint_root: str | os.PathLike,
                  stamp: Any = None, progress: bool = True, world: World | None = None,
                  ) -> Trained:
    """Train ``run``'s MetaSeg networks, one per class (:func:`network_labels`), each with its own meta-learned
    initialisation and head (one theta* shared by the classes was worse; a shared image-only start is not,
    docs/models.md); return them (by label, "" for one), the log rows (the pretraining's labelled "pretrain")
    and the extras of the model file (``start``: the shared start it pretrained, if any)."""
    world = world or World()
    if world.size > 1:
        raise ValueError(f"run {run.name!r}: MetaSeg trains in one process (the job asked for {world.size})")
    meta = MetaSegSettings.of(run)
    pools = data.pools
    setup = task_setup(run, config["tasks"], pools, config["preprocess"]["slices"]["axis"],
                       held_out_classes(run, config))
    hparams = config["models"]["hyperparameters"][run.model]
    evaluation = EvalSettings.from_config(config["evaluation"])
    samplers = {label: PairSampler(run, setup, pools, evaluation, label)
                for label in network_labels(run, evaluation, meta)}
    networks, rows, start, extras = {}, [], None, {}
    if meta.start_from is not None:
        start = read_start(meta.start_from)
        stamp = [stamp, file_stamp([meta.start_from])]  # another start: the checkpoints start afresh
    elif meta.pretrain_steps and meta.init == "meta" and not meta.image_only:
        settings = network_settings(run, config["training"], "")
        shared = initial_model(run, hparams, settings, data.device)
        key = checkpoint_key(run, config, "pretrain", settings, data.subjects, stamp)
        store = CheckpointStore(os.path.join(checkpoint_root, run.name), key)
        log = _meta_learn(shared, MixedSampler(list(samplers.values())), replace(meta, image_only=True),
                          meta.pretrain_steps, settings.batch_size, settings.seed, settings.checkpoint_every,
                          settings.log_every, store, f"{run.name} pretrain", progress)
        rows += [{"label": "pretrain", **row} for row in log]
        start = {k: v.detach() for k, v in shared.params().items() if k.startswith("inr.")}  # shared: not used again
        extras["start"] = start
    for label, sample in samplers.items():
        settings = network_settings(run, config["training"], label)
        model = initial_model(run, hparams, settings, data.device)
        if start is not None:
            _set_weights(model, start)  # the shared INR; the head stays the class's own
        steps = settings.steps if start is not None else settings.steps + meta.pretrain_steps  # ablation: as many
        key = checkpoint_key(run, config, label, settings, data.subjects, stamp)
        store = CheckpointStore(os.path.join(checkpoint_root, run.name), key)
        name = f"{run.name} {label}".strip()
        log = _meta_learn(model, sample, meta, steps, settings.batch_size, settings.seed,
                          settings.checkpoint_every, settings.log_every, store, name, progress)
        features, labels = _fitted_features(model, sample, meta, settings.seed)
        log += _tune_head(model, features.flatten(0, 1), labels.flatten(), meta, settings.seed, name, progress)
        networks[label] = model.eval()
        rows += [{"label": label, **row} for row in log]
    return networks, rows, extras


def read_start(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The shared start (INR weights by functional name) that a MetaSeg run pretrained, from its model file."""
    payload = read_payload(path)
    if payload["model"] != "metaseg" or "start" not in payload:
        raise ValueError(f"{path} holds no MetaSeg shared start (a MetaSeg run with training.runs.metaseg."
                         f"pretrain_steps > 0 writes one): retrain that run, or drop start_from")
    return payload["start"]


def _set_weights(model: MetaSeg, params: dict[str, torch.Tensor]) -> None:
    """``model``'s weights named in ``params`` (functional names, ``inr.0.weight`` ...) set to them; the others kept."""
    with torch.no_grad():
        for key, value in params.items():
            model.weights[key.replace(".", "_")].copy_(value)


def _meta_learn(model: MetaSeg, sample: PairSampler, meta: MetaSegSettings, steps: int, batch_size: int, seed: int,
                checkpoint_every: int, log_every: int, store: CheckpointStore, name: str, progress: bool
                ) -> list[dict[str, Any]]:
    """Stage 1 in place on ``model``'s weights (resuming from ``store``); the log rows."""
    device = next(model.parameters()).device
    config = model.config
    if meta.init == "random":
        return []
    if meta.init == "fixed":  # one training image's fit, as the initialisation everyone starts from
        rng, generator = step_generators(seed, 0, device)
        images, _ = sample(rng, generator, 1)
        fitted = fit_pixels(model.params(), config, images, max(steps, 1))
        _set_weights(model, {key: value[0] for key, value in fitted.items()})
        return [{"stage": "meta", "step": 0, "loss": float("nan"), "seconds": 0.0}]
    theta = model.params()
    names = [k for k in theta if not (meta.image_only and k.startswith("head."))]
    optimizer = torch.optim.Adam([theta[k] for k in names], lr=meta.outer_lr, **adam_kernel(device))
    start, log = store.resume(model, optimizer)
    clock, elapsed, losses = time.perf_counter(), float(log[-1]["seconds"]) if log else 0.0, []
    for step in tqdm(range(start, steps), initial=start, total=steps, desc=f"{name} meta", disable=not progress,
                     mininterval=5.0):
        rng, generator = step_generators(seed, step, device)
        images, labels = sample(rng, generator, batch_size)
        b, c, h, w = images.shape
        pixels = images.permute(0, 2, 3, 1).reshape(b, h * w, c)
        leaves = {k: theta[k] for k in names}
        grads, value = meta_gradient(leaves, config, grid_coords(h, w, device), pixels,
                                     None if meta.image_only else labels, inner_steps=meta.inner_steps,
                                     order=meta.order, gamma=meta.gamma, pixels=meta.pixels,
                                     outer_pixels=meta.outer_pixels, generator=generator)
        for key in names:
            theta[key].grad = grads[key]
        optimizer.step()
        losses.append(value)
        done = step + 1
        if done % log_every == 0 or done == steps:
            now = time.perf_counter()
            elapsed, clock = elapsed + now - clock, now
            log.append({"stage": "meta", "step": done, "loss": sum(losses) / len(losses), "seconds": elapsed})
            losses = []
        if done % checkpoint_every == 0 or done == steps:
            store.save(done, {"step": done, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                              "log": log})
    return log


def _fitted_features(model: MetaSeg, sample: PairSampler, meta: MetaSegSettings, seed: int
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Stage 2's data: ``head_images`` training pairs fitted from ``model``'s INR
    on the MSE alone for the model's T steps; their features ``[n, H*W, W]`` and labels ``[n, H*W]``."""
    device = next(model.parameters()).device
    features, labels, drawn = [], [], 0
    while drawn < meta.head_images:
        rng, generator = step_generators(stable_seed("head", seed), drawn, device)
        images, y = sample(rng, generator, min(meta.head_images - drawn, 32))
        b, _, h, w = images.shape
        fitted = fit_pixels(model.params(), model.config, images)
        features.append(features_of(fitted, model.config, h, w))
        labels.append(y)
        drawn += b
    return torch.cat(features), torch.cat(labels)


def _tune_head(model: MetaSeg, x: torch.Tensor, y: torch.Tensor, meta: MetaSegSettings, seed: int, name: str,
               progress: bool) -> list[dict[str, Any]]:
    """Stage 2 in place on ``model``'s head: the focal loss of the fitted features ``x [P, W]`` and labels ``y [P]``."""
    device = next(model.parameters()).device
    head = {k: v for k, v in model.params().items() if k.startswith("head.")}
    optimizer = torch.optim.Adam(head.values(), lr=meta.head_lr, **adam_kernel(device))
    generator = torch.Generator().manual_seed(stable_seed("head pixels", seed))
    log, start = [], time.perf_counter()
    for step in tqdm(range(meta.head_steps), desc=f"{name} head", disable=not progress, mininterval=5.0):
        if meta.head_pixels is None:  # every pixel
            xs, ys = x, y
        else:  # with replacement; index_select: the same rows as x[index], several times faster on the CPU
            index = torch.randint(len(y), (meta.head_pixels,), generator=generator).to(device)
            xs, ys = x.index_select(0, index), y.index_select(0, index)
        optimizer.zero_grad(set_to_none=True)
        loss = focal_loss(head_forward(head, xs[None]), ys[None], meta.gamma).mean()
        loss.backward()
        optimizer.step()
        if (step + 1) % max(meta.head_steps // 10, 1) == 0 or step + 1 == meta.head_steps:
            log.append({"stage": "head", "step": step + 1, "loss": float(loss.detach()),
                        "seconds": time.perf_counter() - start})
    return log
