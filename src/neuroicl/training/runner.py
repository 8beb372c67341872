"""Train one run of the catalogue: its data, then the trainer the run names.

Every run so far trains by gradient descent on synthesised episodes (:mod:`.episodic`); a comparator
that trains otherwise (a meta-learned or two-stage model) adds its trainer to :data:`TRAINERS` and
names it in its catalogue entry (``Run.trainer``; docs/extending.md). A trainer returns the networks
(keyed by label, "" for one) that the model file stores, the rows of the training log, and the extras the model
file keeps besides the networks (``{}`` for none).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from neuroicl.core.device import pick_device
from neuroicl.data.slice_store import SliceStore
from neuroicl.plan.runs import EPISODES, Run
from neuroicl.training.data import Trained, TrainingData, training_data
from neuroicl.training.episodic import train_episodes
from neuroicl.training.metaseg import train_metaseg
from neuroicl.training.mvg import train_mvg
from neuroicl.training.world import World, replica_device

#: ``trainer(run, config, data, checkpoint_root, stamp, progress, world) -> (networks, log rows, extras)``; extras:
#: what else the model file stores, by key (MetaSeg: its shared start, ``start``; the others: none).
Trainer = Callable[..., Trained]

#: Trainers by name (``Run.trainer``).
TRAINERS: dict[str, Trainer] = {EPISODES: train_episodes, "metaseg": train_metaseg, "mvg": train_mvg}


def fit(
    run: Run,
    config: dict[str, Any],
    stores: Mapping[str, SliceStore],
    splits: Mapping[str, dict[str, list[str]]],
    checkpoint_root: str | os.PathLike,
    stamp: Any = None,
    progress: bool = True,
    world: World | None = None,
) -> Trained:
    """Train every network of ``run``; return them (keyed by label, "" for one), the log rows and the extras the
    model file stores besides the networks (:data:`Trainer`).

    ``stores`` and ``splits``: per dataset (in config order), its slice store and split. Training
    draws from one pool per dataset (supplement G: valid datasets per task, the context dataset mix).
    ``stamp`` (e.g. the slice stores' file stamps) joins the checkpoint fingerprint, so that new
    data never resumes from a checkpoint trained on old data. ``world``: this process among the job's DDP
    workers (None = one process); each trains its replica on ``cuda:<local_rank>`` (or the CPU), rank 0
    alone shows the progress bar.
    """
    if not run.trained:
        raise ValueError(f"run {run.name!r} has nothing to train")
    if run.trainer not in TRAINERS:
        raise ValueError(f"run {run.name!r} names trainer {run.trainer!r}; trainers: {sorted(TRAINERS)}")
    world = world or World()
    device = replica_device(pick_device(config["training"]["device"]), world)
    data: TrainingData = training_data(run, config, stores, splits, device)
    return TRAINERS[run.trainer](run, config, data, checkpoint_root, stamp, progress, world)
