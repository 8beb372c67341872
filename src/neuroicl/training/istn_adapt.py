"""One adaptation of ISTN's study: an ISTN (and, bi-directionally, its reverse) trained adversarially from source to
target images, with one task model per init retrained on its output and selected on transformed source images
(:mod:`neuroicl.training.istn_fit` says why the inits share one ISTN, and how steps are drawn and resumed).

The target site enters as :class:`~neuroicl.data.domains.DomainImages` — images only, read without a label map or
participants table — and reaches the iteration as :class:`~neuroicl.training.istn.TargetImages`.

Example:
    >>> inits = {"scratch": None, "finetune": source_model}
    >>> models, log = adapt("age", "itn+affine", "uni", train, selection, target, inits, settings, store, "job")
    >>> models["finetune"].selected_step
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Mapping
from typing import Any

import torch
from tqdm.auto import tqdm

from neuroicl.data.domains import DomainImages, LabelledDomain
from neuroicl.models.istn import ISTN
from neuroicl.models.istn_critics import Discriminator, DiscriminatorConfig
from neuroicl.models.istn_file import ISTNModel, istn_config
from neuroicl.models.istn_tasks import AgeScale, build_task_model
from neuroicl.tasks.episodes import stable_seed
from neuroicl.training.checkpoint import CheckpointStore
from neuroicl.training.istn import (
    TASK_BETAS,
    TASK_OBJECTIVES,
    ISTNNetworks,
    SourceBatch,
    TargetImages,
    build_optimizers,
    discriminator_step,
    generator_step,
    task_step,
)
from neuroicl.training.istn_fit import (
    OBJECTIVES,
    FitSettings,
    generators,
    images_on,
    log_row,
    select,
    set_lr,
    tensors_on,
    transformed,
)
from neuroicl.training.optimizers import adam_kernel

_log = logging.getLogger(__name__)


def build_networks(mode: str, bidirectional: bool, channels: int, image_size: int, settings: FitSettings,
                   task: torch.nn.Module, generator: torch.Generator, device: torch.device) -> ISTNNetworks:
    """The ISTN S -> T and D_T (bi-directionally also T -> S and D_S), channels-last, around ``task``."""
    hparams = settings.hyperparameters
    config = istn_config(mode, channels, image_size, hparams)
    critic = DiscriminatorConfig(features=int(hparams["discriminator"]), channels=channels)

    def pair() -> tuple[ISTN, Discriminator]:
        return (ISTN(config, generator=generator, device=device).to(memory_format=torch.channels_last),
                Discriminator(critic, generator=generator, device=device).to(memory_format=torch.channels_last))

    istn, discriminator = pair()
    reverse, source_discriminator = pair() if bidirectional else (None, None)
    return ISTNNetworks(istn, discriminator, task, reverse, source_discriminator)


def adapt(task: str, mode: str, direction: str, train: LabelledDomain, selection: LabelledDomain,
          target: DomainImages, inits: Mapping[str, ISTNModel | None], settings: FitSettings,
          store: CheckpointStore, job: str = "adapt", device: torch.device | str = "cpu",
          progress: bool = True) -> tuple[dict[str, ISTNModel], list[dict[str, Any]]]:
    """Train one adaptation (module docstring) for ``settings.steps`` iterations, resuming from ``store``.

    Args:
        task: the downstream task; mode: the ISTN mode; direction: ``uni`` or ``bi``.
        train: labelled source training slices; selection: labelled source selection slices.
        target: the target site's images (no labels).
        inits: init name -> the model it starts from (``None``: from scratch; T_S: fine-tuned from it).
        settings: the study's settings; store: this job's checkpoints; job: its name (seeds, progress bar).

    Returns:
        Init -> the selected model (task model and ISTN(s) of its best selection step), and the log rows.
    """
    device = torch.device(device)
    if not isinstance(target, DomainImages) or isinstance(target, LabelledDomain):
        raise TypeError(f"adapt: target must be DomainImages (images only), got {type(target).__name__}")
    if direction not in ("uni", "bi"):
        raise ValueError(f"adapt: direction must be 'uni' or 'bi', got {direction!r}")
    scale = AgeScale.of(train.labels) if task == "age" else AgeScale()
    channels, size = train.images.shape[1], train.images.shape[-1]
    classes = train.labels.shape[1] if task == "segmentation" else 0
    source, chosen = tensors_on(task, train, scale, device), tensors_on(task, selection, scale, device)
    target_images = images_on(target, device)

    def generator(part: str) -> torch.Generator:  # one per network: the ISTN's weights do not depend on the inits
        return torch.Generator(device=device).manual_seed(stable_seed("istn-init", job, settings.seed, part))

    tasks = {}
    for name, start_from in inits.items():
        model = build_task_model(task, channels, classes, settings.hyperparameters, generator(name), device)
        if start_from is not None:
            model.load_state_dict(start_from.task_model.state_dict())
            scale = start_from.age_scale
        tasks[name] = model.to(memory_format=torch.channels_last)
    networks = build_networks(mode, direction == "bi", channels, size, settings, next(iter(tasks.values())),
                              generator("istn"), device)
    optimizers = build_optimizers(networks, lr=settings.lr)
    task_optimizers = {name: torch.optim.Adam(model.parameters(), lr=settings.task_lr, betas=TASK_BETAS,
                                              **adam_kernel(device)) for name, model in tasks.items()}
    modules = {"istn": networks.istn, "discriminator": networks.discriminator, "reverse": networks.reverse,
               "source_discriminator": networks.source_discriminator}
    modules = {key: module for key, module in modules.items() if module is not None}
    start, log = 0, []
    best = {name: {"score": -math.inf, "step": 0, "task": None, "istn": None, "reverse": None} for name in tasks}
    state = store.latest()
    if state is not None:
        for key, module in modules.items():
            module.load_state_dict(state["networks"][key])
        for name in tasks:
            tasks[name].load_state_dict(state["tasks"][name])
            task_optimizers[name].load_state_dict(state["task_optimizers"][name])
        optimizers.istn.load_state_dict(state["optimizers"]["istn"])
        optimizers.discriminator.load_state_dict(state["optimizers"]["discriminator"])
        start, log, best = state["step"], state["log"], state["best"]
        _log.info("%s: resuming from step %d", job, start)
    objective = TASK_OBJECTIVES[OBJECTIVES[task]]
    sums: dict[str, float] = {}
    count, pending, clock = 0, {}, time.perf_counter()
    elapsed = log[-1]["seconds"] if log else 0.0
    for step in tqdm(range(start, settings.steps), initial=start, total=settings.steps, desc=job,
                     disable=not progress, mininterval=5.0):
        factor = settings.factor(step, settings.steps)
        set_lr(optimizers.istn, settings.lr, factor)
        set_lr(optimizers.discriminator, settings.lr, factor)
        for optimizer in task_optimizers.values():
            set_lr(optimizer, settings.task_lr, factor)
        rng, generator = generators(settings.seed, job, step, device)
        rows = torch.as_tensor(rng.integers(len(source.images), size=settings.batch_size), device=device)
        others = torch.as_tensor(rng.integers(len(target_images), size=settings.batch_size), device=device)
        batch, unlabelled = SourceBatch(source.images[rows], source.targets[rows]), TargetImages(target_images[others])
        for module in (*modules.values(), *tasks.values()):
            module.train()
        losses, moved = generator_step(networks, optimizers.istn, batch.images, unlabelled, generator,
                                       settings.identity_weight)
        losses |= discriminator_step(networks, optimizers.discriminator, batch.images, unlabelled, moved, generator)
        for name, model in tasks.items():
            losses[f"task_{name}"] = task_step(model, task_optimizers[name], batch.labels, moved, objective)["task"]
        for key, value in losses.items():
            sums[key] = sums.get(key, 0.0) + float(value.detach())
        count, done = count + 1, step + 1
        if done >= settings.select_from and (done % settings.select_every == 0 or done == settings.steps):
            images, labels = transformed(networks.istn, chosen, task)
            for name, model in tasks.items():
                score = select(task, model, images, labels, chosen.subjects, scale)
                pending[f"selection_{name}"] = score
                if score > best[name]["score"]:
                    best[name] = {"score": score, "step": done, "task": copy.deepcopy(model.state_dict()),
                                  "istn": copy.deepcopy(networks.istn.state_dict()),
                                  "reverse": None if networks.reverse is None else
                                  copy.deepcopy(networks.reverse.state_dict())}
        if done % settings.log_every == 0 or done == settings.steps:
            now = time.perf_counter()
            elapsed, clock = elapsed + now - clock, now
            log.append(log_row(done, sums, count, settings.lr * factor, elapsed, **pending))
            sums, count, pending = {}, 0, {}
        if done % settings.checkpoint_every == 0 or done == settings.steps:
            store.save(done, {
                "step": done, "log": log, "best": best,
                "networks": {key: module.state_dict() for key, module in modules.items()},
                "tasks": {name: model.state_dict() for name, model in tasks.items()},
                "optimizers": {"istn": optimizers.istn.state_dict(),
                               "discriminator": optimizers.discriminator.state_dict()},
                "task_optimizers": {name: opt.state_dict() for name, opt in task_optimizers.items()}})
    return {name: _selected(task, mode, best[name], tasks[name], networks, channels, classes, size, settings, scale,
                            train.site) for name in tasks}, log


def _selected(task: str, mode: str, best: dict[str, Any], model: torch.nn.Module, networks: ISTNNetworks,
              channels: int, classes: int, size: int, settings: FitSettings, scale: AgeScale,
              site: str) -> ISTNModel:
    """The model of one init at its best selection step (copies: the networks of the job are left as they are)."""
    model = copy.deepcopy(model)
    model.load_state_dict(best["task"])
    istn = copy.deepcopy(networks.istn)
    istn.load_state_dict(best["istn"])
    reverse = None
    if networks.reverse is not None:
        reverse = copy.deepcopy(networks.reverse)
        reverse.load_state_dict(best["reverse"])
    return ISTNModel(task, channels, classes, settings.hyperparameters, size, model.eval(), scale, mode, istn.eval(),
                     None if reverse is None else reverse.eval(), best["step"], best["score"], [site])
