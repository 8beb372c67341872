"""Train one run of the catalogue from config: its subjects, tasks, augmentations and networks.

A run trains one network, or one per evaluation label where the task's target cannot be read from
the input (the task-specific segmentation U-Net: one network per class, as task-specific models
are). The model file holds every network with the run's name, model and hyperparameters.
"""

from __future__ import annotations

import copy
import os
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
from neuroicl.tasks.episodes import stable_seed
from neuroicl.tasks.pool import Pool
from neuroicl.tasks.setup import TaskSetup, build
from neuroicl.tasks.synthesize import synthesize
from neuroicl.training.checkpoint import CheckpointStore, fingerprint
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


def fit(
    run: Run,
    config: dict[str, Any],
    store: SliceStore,
    splits: dict[str, list[str]],
    dataset: str,
    checkpoint_root: str | os.PathLike,
    stamp: Any = None,
    progress: bool = True,
) -> tuple[dict[str, TrainablePredictor], list[dict[str, Any]]]:
    """Train every network of ``run``; return them (keyed by label, "" for one) and the log rows.

    ``stamp`` (e.g. the slice store's file stamps) joins the checkpoint fingerprint, so that new
    data never resumes from a checkpoint trained on old data.
    """
    if not run.trained:
        raise ValueError(f"run {run.name!r} has nothing to train")
    training = config["training"]
    device = pick_device(training["device"])
    subjects = subject_subset(splits["train"], run.subjects, training["seed"])
    pools = [Pool.from_store(dataset, store, subjects, device)]
    setup = task_setup(run, config["tasks"], pools, config["preprocess"]["slices"]["axis"])
    hparams = config["models"]["hyperparameters"][run.model]
    evaluation = EvalSettings.from_config(config["evaluation"])
    labels = list(evaluation.labels) if run.per_label else [""]
    networks, rows = {}, []
    for label in labels:
        settings = settings_for(run, training)
        settings = replace(settings, seed=stable_seed(settings.seed, label) % 2**32) if label else settings
        key = checkpoint_key(run, config, label, settings, subjects, stamp)
        generator = torch.Generator().manual_seed(stable_seed("init", settings.seed))
        model = build_model(run.model, generator=generator, device=device, **hparams)
        draw = _drawer(run, setup, pools, evaluation, label, settings.batch_size)

        def synth(episodes, generator):
            return synthesize(pools, episodes, setup.tasks, setup.tree, generator, setup.flip_dim)

        checkpoints = CheckpointStore(os.path.join(checkpoint_root, run.name), key)
        log = train(model, draw, synth, settings, checkpoints, name=f"{run.name} {label}".strip(), progress=progress)
        networks[label] = model
        rows += [{"label": label, **row} for row in log]
    return networks, rows


def checkpoint_key(
    run: Run, config: dict[str, Any], label: str, settings: TrainSettings, subjects: list[str], stamp: Any
) -> str:
    """The fingerprint of everything that shapes one network's training: a change starts it afresh."""
    return fingerprint({
        "run": asdict(run), "label": label, "settings": asdict(settings), "subjects": subjects, "data": stamp,
        "hparams": config["models"]["hyperparameters"][run.model], "tasks": config["tasks"],
        "evaluation": config["evaluation"] if run.uses_cases else None,
        "axis": config["preprocess"]["slices"]["axis"], "device": config["training"]["device"],
    })  # fmt: skip


def _drawer(run: Run, setup: TaskSetup, pools: list[Pool], evaluation: EvalSettings, label: str, batch_size: int):
    """Episodes of one step: Table 7 episodes, or (task-specific U-Net) random evaluation cases of its task."""
    if not run.uses_cases:
        return lambda rng: setup.sampler.sample(rng, batch_size)
    (task,) = run.eval_tasks
    cases = [c for c in cases_for(task, pools[0].modalities, evaluation) if c.label == label]

    def draw(rng: np.random.Generator):
        picked = rng.integers(len(cases), size=batch_size)
        return [setup.sampler.episode(rng, task, 0, choice=cases[i].choice, modalities=cases[i].modalities)
                for i in picked]

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
