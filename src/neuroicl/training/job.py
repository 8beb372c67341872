"""One training job (rule ``train``): open the datasets, fit the run, write its log CSV and model file.

The same body runs in the Snakemake job itself (one process) or in each DDP worker that
:func:`neuroicl.training.distributed.launch_job` starts; a :class:`TrainJob` is everything it needs,
and is written to a JSON spec file for the workers.

Example:
    >>> job = TrainJob.read("results/train/neuralizer-seen/.spec-123.json")
    >>> networks = run_job(job)  # one process
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from neuroicl.core.io import atomic_path
from neuroicl.data.sources import open_datasets
from neuroicl.models.base import TrainablePredictor
from neuroicl.models.model_file import prediction_info, save_networks
from neuroicl.plan.runs import Run
from neuroicl.training.checkpoint import file_stamp
from neuroicl.training.runner import fit
from neuroicl.training.world import World

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainJob:
    """What one training job reads and writes (the rule's params, inputs and outputs).

    Attributes:
        run: the run (:meth:`neuroicl.plan.runs.Run.to_dict`).
        config: the config parts the run reads (``tasks``, ``training``, ``evaluation``, ``models``, ``preprocess``).
        datasets: dataset names, in config order.
        index: each dataset's slice-store ``index.tsv``, in that order.
        splits: each dataset's split file, in that order.
        store: every file of every slice store (their stamps join the checkpoint fingerprint).
        model: the model file to write.
        log: the log CSV to write.
        checkpoints: the checkpoint root (``checkpoints/``).
        threads: CPU threads of the job, shared among its processes.
    """

    run: dict[str, Any]
    config: dict[str, Any]
    datasets: list[str]
    index: list[str]
    splits: list[str]
    store: list[str]
    model: str
    log: str
    checkpoints: str
    threads: int

    def write(self, path: str | os.PathLike) -> None:
        """Save the job as JSON, atomically, keys in their order (the order of ``tasks`` entries matters)."""
        with atomic_path(path) as temporary:
            temporary.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def read(cls, path: str | os.PathLike) -> TrainJob:
        """A job saved by :meth:`write`."""
        try:
            return cls(**json.loads(Path(path).read_text()))
        except (OSError, TypeError, json.JSONDecodeError) as error:
            raise ValueError(f"{path} is not a training job spec written by TrainJob.write ({error})") from error


def run_job(job: TrainJob, world: World | None = None) -> dict[str, TrainablePredictor]:
    """Train the job's run (resuming from its checkpoints); rank 0 writes the log CSV, then the model file.

    Args:
        job: the job.
        world: this process among the job's DDP workers; None = the job's only process.

    Returns:
        The trained networks, keyed by label ("" for one).
    """
    world = world or World()
    torch.set_num_threads(max(1, job.threads // world.size))
    stores, splits = open_datasets(job.datasets, job.index, job.splits)
    run = Run.from_dict(job.run)
    _log.info("run %s on %d process(es): %s", run.name, world.size, run)
    networks, rows, extras = fit(run, job.config, stores, splits, job.checkpoints, file_stamp(job.store), world=world)
    if world.rank == 0:
        with atomic_path(job.log) as temporary:
            pd.DataFrame(rows).to_csv(temporary, index=False, float_format="%.6g")
        hparams = job.config["models"]["hyperparameters"][run.model]
        save_networks(job.model, run.name, run.model, hparams, networks, prediction_info(run, job.config), extras)
        _log.info("done: %d log rows, final loss %.4f", len(rows), rows[-1]["loss"])
    return networks
