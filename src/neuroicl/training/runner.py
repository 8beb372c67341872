"""Train one run of the catalogue from config: its subjects, tasks, augmentations and networks.

A run trains one network, or one per evaluation label where the task's target cannot be read from
the input (the task-specific segmentation U-Net: one network per class, as task-specific models
are). The model file holds every network with the run's name, model and hyperparameters.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import asdict, replace
from typing import Any

import numpy as np
import torch

from neuroicl.evaluation.cases import EvalSettings, cases_for
from neuroicl.io import atomic_path
from neuroicl.models.base import TrainablePredictor
from neuroicl.models.factory import build_model
from neuroicl.preprocess.slices import SliceStore
from neuroicl.runs import Run
from neuroicl.tasks.base import Task, build_tasks
from neuroicl.tasks.episodes import stable_seed
from neuroicl.tasks.pool import Pool
from neuroicl.tasks.setup import TaskSetup, build
from neuroicl.tasks.synthesize import synthesize
from neuroicl.training.checkpoint import CheckpointStore, fingerprint
from neuroicl.training.distributed import World, replica_device
from neuroicl.training.loop import TrainSettings, train


def pick_device(name: str) -> torch.device:
    """``training.device``: ``auto`` (CUDA when present), ``cpu`` or ``cuda``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("training.device is 'cuda' but no CUDA device is visible; set it to 'auto' or 'cpu'")
    return torch.device(name)


def subject_subset(subjects: list[str], count: int | None, seed: int) -> list[str]:
    """The first ``count`` of a seeded shuffle of ``subjects`` (nested: 1 ⊂ 2 ⊂ 4 ...); all if None."""
    if count is None:
        return sorted(subjects)
    if not 1 <= count <= len(subjects):
        raise ValueError(f"asked for {count} training subjects, the training split has {len(subjects)}")
    order = np.random.default_rng([seed, 7]).permutation(len(subjects))
    return sorted(sorted(subjects)[i] for i in order[:count])


def settings_for(run: Run, training: dict[str, Any]) -> TrainSettings:
    """The run's :class:`TrainSettings` from the ``training`` block (its seed mixed with the run name)."""
    return TrainSettings(
        steps=run.steps,
        batch_size=run.batch_size,
        checkpoint_every=int(training["checkpoint_every"]),
        log_every=int(training["log_every"]),
        seed=stable_seed(training["seed"], run.name) % 2**32,
        compile=bool(training["compile"]),
        loss_weights={family: float(weight) for family, weight in training["loss_weights"].items()},
        **{k: training["optimizer"][k] for k in ("lr", "weight_decay", "warmup_steps", "min_lr_fraction", "grad_clip")},
    )


def task_setup(run: Run, tasks_config: dict[str, Any], pools: list[Pool], slice_axis: str) -> TaskSetup:
    """The task setup of ``run``: its task weights, its augmentation groups, its omitted augmentations."""
    config = copy.deepcopy(tasks_config)
    tree = config["augmentations"]["tree"]
    config["augmentations"]["tree"] = {group: node for group, node in tree.items() if group in run.groups}
    for name in config["weights"]:
        config["omit"][name] = [*config["omit"].get(name, []), *run.omit]
    return build(config, pools, slice_axis, weights=run.weights)


def can_pose(task: Task, store: SliceStore) -> bool:
    """Whether a dataset's slice store can provide ``task``: enough modalities, and label maps where it needs them.

    Labels are looked for on a spread of at most 64 slices (a labelled dataset has them on every brain slice).
    """
    if len(store.modalities) < task.min_modalities:
        return False
    step = max(1, len(store.labels) // 64)
    return not task.needs_labels or bool(np.asarray(store.labels[::step]).any())


def training_subjects(
    run: Run, tasks_config: dict[str, Any], stores: Mapping[str, SliceStore], splits: Mapping[str, dict[str, list[str]]], seed: int
) -> dict[str, list[str]]:
    """The training subjects of ``run``, per dataset (datasets without any are left out).

    All runs but the U-Nets with ``k`` subjects take every dataset's whole training split. ``k`` subjects
    are drawn from the *pooled* training subjects of the datasets that can pose the run's task (ids
    ``<dataset>/<subject>``, sorted): nested subsets of one seeded shuffle (:func:`subject_subset`), ``k``
    capped by the pooled count. With one dataset this is that dataset's subset.
    """
    if run.subjects is None:
        return {name: sorted(splits[name]["train"]) for name in stores}
    tasks = build_tasks(tasks_config["settings"])
    usable = [name for name in stores if all(can_pose(tasks[task], stores[name]) for task in run.eval_tasks)]
    pooled = [f"{name}/{subject}" for name in usable for subject in splits[name]["train"]]
    if not pooled:
        raise ValueError(f"run {run.name!r}: no dataset among {list(stores)} can pose {list(run.eval_tasks)}")
    picked = [item.split("/", 1) for item in subject_subset(pooled, min(run.subjects, len(pooled)), seed)]
    chosen = {name: sorted(subject for owner, subject in picked if owner == name) for name in usable}
    return {name: ids for name, ids in chosen.items() if ids}


def fit(
    run: Run,
    config: dict[str, Any],
    stores: Mapping[str, SliceStore],
    splits: Mapping[str, dict[str, list[str]]],
    checkpoint_root: str | os.PathLike,
    stamp: Any = None,
    progress: bool = True,
    world: World | None = None,
) -> tuple[dict[str, TrainablePredictor], list[dict[str, Any]]]:
    """Train every network of ``run``; return them (keyed by label, "" for one) and the log rows.

    ``stores`` and ``splits``: per dataset (in config order), its slice store and split. Training
    draws from one pool per dataset (supplement G: valid datasets per task, the context dataset mix).
    ``stamp`` (e.g. the slice stores' file stamps) joins the checkpoint fingerprint, so that new
    data never resumes from a checkpoint trained on old data. ``world``: this process among the job's DDP
    workers (None = one process); each trains its replica on ``cuda:<local_rank>`` (or the CPU), rank 0
    alone shows the progress bar.
    """
    if not run.trained:
        raise ValueError(f"run {run.name!r} has nothing to train")
    world = world or World()
    training = config["training"]
    device = replica_device(pick_device(training["device"]), world)
    chosen = training_subjects(run, config["tasks"], stores, splits, training["seed"])
    pools = [Pool.from_store(name, stores[name], subjects, device) for name, subjects in chosen.items()]
    subjects = next(iter(chosen.values())) if len(stores) == 1 else chosen  # one dataset: the key of before
    setup = task_setup(run, config["tasks"], pools, config["preprocess"]["slices"]["axis"])
    hparams = config["models"]["hyperparameters"][run.model]
    evaluation = EvalSettings.from_config(config["evaluation"])
    labels = list(evaluation.labels) if run.per_label else [""]
    networks, rows = {}, []
    for label in labels:
        settings = settings_for(run, training)
        settings = replace(settings, seed=stable_seed(settings.seed, label) % 2**32) if label else settings
        key = checkpoint_key(run, config, label, settings, subjects, stamp, world.size)
        generator = torch.Generator().manual_seed(stable_seed("init", settings.seed))
        model = build_model(run.model, generator=generator, device=device, **hparams)
        draw = _drawer(run, setup, pools, evaluation, label, settings.batch_size)

        def synth(episodes, generator):
            return synthesize(pools, episodes, setup.tasks, setup.tree, generator, setup.flip_dim)

        checkpoints = CheckpointStore(os.path.join(checkpoint_root, run.name), key)
        log = train(model, draw, synth, settings, checkpoints, name=f"{run.name} {label}".strip(),
                    progress=progress and world.rank == 0, world=world)  # fmt: skip
        networks[label] = model
        rows += [{"label": label, **row} for row in log]
    return networks, rows


def checkpoint_key(
    run: Run, config: dict[str, Any], label: str, settings: TrainSettings, subjects: list[str] | dict[str, list[str]],
    stamp: Any, processes: int = 1,
) -> str:
    """The fingerprint of everything that shapes one network's training: a change starts it afresh.

    ``processes``: DDP workers N; it joins the fingerprint only when N > 1 (each rank synthesises with
    its own seeds), so the keys of one-process runs, and their checkpoints, are those of before.
    """
    payload = {
        "run": asdict(run), "label": label, "settings": asdict(settings), "subjects": subjects, "data": stamp,
        "hparams": config["models"]["hyperparameters"][run.model], "tasks": config["tasks"],
        "evaluation": config["evaluation"] if run.uses_cases else None,
        "axis": config["preprocess"]["slices"]["axis"], "device": config["training"]["device"],
    }  # fmt: skip
    return fingerprint(payload if processes == 1 else {**payload, "processes": processes})


def _drawer(run: Run, setup: TaskSetup, pools: list[Pool], evaluation: EvalSettings, label: str, batch_size: int):
    """Episodes of one step: Table 7 episodes, or (task-specific U-Net) random evaluation cases of its task,
    each from a dataset that can pose it (its own modalities)."""
    if not run.uses_cases:
        return lambda rng: setup.sampler.sample(rng, batch_size)
    (task,) = run.eval_tasks
    cases = [(pool, case) for pool in setup.sampler.valid[task]
             for case in cases_for(task, pools[pool].modalities, evaluation) if case.label == label]  # fmt: skip
    if not cases:
        raise ValueError(f"run {run.name!r}: no dataset among {[p.name for p in pools]} has a {task} case {label!r}")

    def draw(rng: np.random.Generator):
        picked = rng.integers(len(cases), size=batch_size)
        return [setup.sampler.episode(rng, task, 0, choice=cases[i][1].choice, modalities=cases[i][1].modalities,
                                      target_pools=[cases[i][0]]) for i in picked]  # fmt: skip

    return draw


def save_networks(path: str | os.PathLike, run: Run, hparams: dict[str, Any], networks: dict[str, torch.nn.Module]) -> None:
    """Write the model file atomically (the last file a training job writes)."""
    payload = {"run": run.name, "model": run.model, "hparams": hparams,
               "networks": {label: {k: v.cpu() for k, v in net.state_dict().items()} for label, net in networks.items()}}
    with atomic_path(path) as temporary:
        torch.save(payload, temporary)


def load_networks(path: str | os.PathLike, device: torch.device | str = "cpu") -> dict[str, TrainablePredictor]:
    """The networks of a model file, in eval mode on ``device``."""
    payload = torch.load(path, map_location="cpu", weights_only=False)
    networks = {}
    for label, state in payload["networks"].items():
        model = build_model(payload["model"], generator=torch.Generator(), device=device, **payload["hparams"])
        model.load_state_dict(state)
        networks[label] = model.eval()
    return networks
