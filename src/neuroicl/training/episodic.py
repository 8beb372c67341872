"""The trainer of every run so far: gradient descent on synthesised episodes (supplement G).

Each step draws a batch of episodes — Table 7 episodes with their context sets, or for a
task-specific U-Net random evaluation cases of its task — synthesises them (:mod:`neuroicl.tasks`)
and takes one optimiser step on the model's loss (:mod:`neuroicl.training.loop`). A run that
trains one network per evaluation label (``per_label``) repeats this per label.
"""

from __future__ import annotations

import copy
import os
from dataclasses import asdict, replace
from typing import Any

import numpy as np
import torch

from neuroicl.models.factory import build_model
from neuroicl.plan.cases import EvalSettings, cases_for
from neuroicl.plan.runs import EPISODES, Run
from neuroicl.tasks.episodes import stable_seed
from neuroicl.tasks.pool import Pool
from neuroicl.tasks.setup import TaskSetup, build
from neuroicl.tasks.synthesize import synthesize
from neuroicl.training.checkpoint import CheckpointStore, fingerprint
from neuroicl.training.data import Trained, TrainingData
from neuroicl.training.loop import TrainSettings, train
from neuroicl.training.world import World

#: The optimiser settings a run may set for itself (``Run.settings``), over ``training.optimizer``.
RUN_OPTIMIZER_KEYS = ("lr",)


def settings_for(run: Run, training: dict[str, Any]) -> TrainSettings:
    """The run's :class:`TrainSettings` from the ``training`` block (its seed mixed with the run name), with the
    optimiser settings of :data:`RUN_OPTIMIZER_KEYS` the run sets itself."""
    unknown = sorted(set(run.settings) - set(RUN_OPTIMIZER_KEYS)) if run.trainer == EPISODES else []
    if unknown:
        raise ValueError(f"run {run.name!r}: unknown settings {unknown}; episode training takes {RUN_OPTIMIZER_KEYS}")
    optimizer = {**training["optimizer"], **{k: v for k, v in run.settings.items() if k in RUN_OPTIMIZER_KEYS}}
    return TrainSettings(
        steps=run.steps,
        batch_size=run.batch_size,
        checkpoint_every=int(training["checkpoint_every"]),
        log_every=int(training["log_every"]),
        seed=stable_seed(training["seed"], run.name) % 2**32,
        compile=bool(training["compile"]),
        precision=str(training["precision"]),
        loss_weights={family: float(weight) for family, weight in training["loss_weights"].items()},
        **{k: optimizer[k] for k in ("lr", "weight_decay", "warmup_steps", "min_lr_fraction", "grad_clip")},
    )


def network_settings(run: Run, training: dict[str, Any], label: str) -> TrainSettings:
    """The settings of ``run``'s network for evaluation label ``label`` ("" for a run with one network): the
    run's (:func:`settings_for`), its seed mixed with the label."""
    settings = settings_for(run, training)
    return replace(settings, seed=stable_seed(settings.seed, label) % 2**32) if label else settings


def initial_model(run: Run, hparams: dict[str, Any], settings: TrainSettings, device: torch.device):
    """``run``'s model with ``hparams``, initialised from a generator seeded by ``settings.seed``."""
    generator = torch.Generator().manual_seed(stable_seed("init", settings.seed))
    return build_model(run.model, generator=generator, device=device, **hparams)


def synthesizer(pools: list[Pool], setup: TaskSetup):
    """``synth(episodes, generator) -> Batch`` on ``pools`` with ``setup``'s tasks and augmentation tree."""

    def synth(episodes, generator):
        return synthesize(pools, episodes, setup.tasks, setup.tree, generator, setup.flip_dim)

    return synth


#: The tasks whose targets are unions of anatomical classes (the class hold-out applies to them).
CLASS_TASKS = ("segmentation", "masking")


def held_out_classes(run: Run, config: dict[str, Any]) -> tuple[int, ...]:
    """The label ids ``run`` never trains a class target on: with ``training.class_holdout``, every id of
    the evaluation classes (``evaluation.labels``, both hemispheres) for an in-context model, so that it
    meets them first at test time (the paper's class hold-outs, supplement C.2); none otherwise."""
    if not config["training"].get("class_holdout", False) or not run.in_context:
        return ()
    return tuple(sorted({int(i) for ids in config["evaluation"]["labels"].values() for i in ids}))


def task_setup(run: Run, tasks_config: dict[str, Any], pools: list[Pool], slice_axis: str,
               holdout: tuple[int, ...] = ()) -> TaskSetup:
    """The task setup of ``run``: its task weights, its augmentation groups, its omitted augmentations,
    context sizes capped by its ``max_context``, and the label ids ``holdout`` excluded from the class
    tasks (:func:`held_out_classes`)."""
    config = copy.deepcopy(tasks_config)
    if holdout:
        for name in CLASS_TASKS:
            config["settings"][name] = {**config["settings"].get(name, {}), "exclude": list(holdout)}
    if run.max_context is not None:
        config["context"]["size"] = [min(size, run.max_context) for size in config["context"]["size"]]
    tree = config["augmentations"]["tree"]
    config["augmentations"]["tree"] = {group: node for group, node in tree.items() if group in run.groups}
    for name in config["weights"]:
        config["omit"][name] = [*config["omit"].get(name, []), *run.omit]
    return build(config, pools, slice_axis, weights=run.weights)


def train_episodes(run: Run, config: dict[str, Any], data: TrainingData, checkpoint_root: str | os.PathLike,
                   stamp: Any = None, progress: bool = True, world: World | None = None,
                   ) -> Trained:
    """Train every network of ``run`` on ``data``; return them (keyed by label, "" for one), the log rows and no
    extras (:data:`neuroicl.training.runner.Trainer`).

    ``stamp`` joins each network's checkpoint fingerprint (:func:`checkpoint_key`); ``world``: this
    process among the job's DDP workers (rank 0 alone shows the progress bar).
    """
    world = world or World()
    training = config["training"]
    pools = data.pools
    holdout = held_out_classes(run, config)
    setup = task_setup(run, config["tasks"], pools, config["preprocess"]["slices"]["axis"], holdout)
    hparams = config["models"]["hyperparameters"][run.model]
    evaluation = EvalSettings.from_config(config["evaluation"])
    labels = list(evaluation.labels) if run.per_label else [""]
    networks, rows = {}, []
    for label in labels:
        settings = network_settings(run, training, label)
        key = checkpoint_key(run, config, label, settings, data.subjects, stamp, world.size, holdout)
        model = initial_model(run, hparams, settings, data.device)
        draw = case_drawer(run, setup, pools, evaluation, label, settings.batch_size)
        checkpoints = CheckpointStore(os.path.join(checkpoint_root, run.name), key)
        log = train(model, draw, synthesizer(pools, setup), settings, checkpoints, name=f"{run.name} {label}".strip(),
                    progress=progress and world.rank == 0, world=world)
        networks[label] = model
        rows += [{"label": label, **row} for row in log]
    return networks, rows, {}


def checkpoint_key(
    run: Run, config: dict[str, Any], label: str, settings: TrainSettings, subjects: list[str] | dict[str, list[str]],
    stamp: Any, processes: int = 1, holdout: tuple[int, ...] = (),
) -> str:
    """The fingerprint of everything that shapes one network's training: a change starts it afresh.

    ``processes``: DDP workers N; it joins the fingerprint only when N > 1 (each rank synthesises with
    its own seeds), so the keys of one-process runs, and their checkpoints, are those of before.
    ``holdout``: the held-out label ids (:func:`held_out_classes`); they join it when there are any.
    """
    described = asdict(run)
    if not described["settings"]:  # runs without trainer settings keep the keys (and checkpoints) of before
        del described["settings"]
    payload = {
        "run": described, "label": label, "settings": asdict(settings), "subjects": subjects, "data": stamp,
        "hparams": config["models"]["hyperparameters"][run.model], "tasks": config["tasks"],
        "evaluation": config["evaluation"] if run.uses_cases else None,
        "axis": config["preprocess"]["slices"]["axis"], "device": config["training"]["device"],
    }
    payload = payload if processes == 1 else {**payload, "processes": processes}
    return fingerprint({**payload, "holdout": list(holdout)} if holdout else payload)


def case_drawer(run: Run, setup: TaskSetup, pools: list[Pool], evaluation: EvalSettings, label: str,
                batch_size: int):
    """Episodes of one step: Table 7 episodes, or (task-specific U-Net) random evaluation cases of its task,
    each from a dataset that can pose it (its own modalities), on a slice that poses it as evaluation does:
    a class case's target slice shows at least ``evaluation.min_label_pixels`` pixels of its class (without
    that, most slices of a small structure are empty and the network learns to predict nothing)."""
    if not run.uses_cases:
        return lambda rng: setup.sampler.sample(rng, batch_size)
    (task,) = run.eval_tasks
    cases = []
    for pool in setup.sampler.valid[task]:
        for case in cases_for(task, pools[pool].modalities, evaluation):
            if case.label != label:
                continue
            rows = None
            if case.choice:  # slices showing the class, with the case's modality acquired
                rows = pools[pool].rows_showing(case.choice, evaluation.min_label_pixels)
                rows = rows[pools[pool].available[rows, pools[pool].modalities.index(case.modality)]]
            if rows is None or len(rows):
                cases.append((pool, case, rows))
    if not cases:
        raise ValueError(f"run {run.name!r}: no dataset among {[p.name for p in pools]} has a {task} case {label!r}")

    def draw(rng: np.random.Generator):
        episodes = []
        for i in rng.integers(len(cases), size=batch_size):
            pool, case, rows = cases[i]
            target = None if rows is None else (pool, int(rows[rng.integers(len(rows))]))
            episodes.append(setup.sampler.episode(rng, task, 0, choice=case.choice, modalities=case.modalities,
                                                  target=target, target_pools=[pool]))
        return episodes

    return draw
