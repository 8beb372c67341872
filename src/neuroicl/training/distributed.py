"""Several GPUs in one training job: DistributedDataParallel (DDP) over ``torchrun`` worker processes.

A training job given ``gpu: N > 1`` (its Snakemake ``resources``) starts ``N`` workers on its node with
``torchrun --standalone`` (:func:`launch`); each runs :func:`main` on the job's spec file
(:mod:`neuroicl.training.job`), trains one replica of the network on ``cuda:<LOCAL_RANK>`` (gloo on
the CPU) and synthesises ``B / N`` of every step's ``B`` episodes. The gradients are averaged over the
workers, so every replica holds the same weights; rank 0 alone writes the checkpoints and outputs.

Example:
    >>> World.from_env({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"})
    World(rank=1, size=2, local_rank=1)
    >>> World().shard(8)  # one process: the whole batch
    slice(0, 8, None)
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import torch
import torch.distributed as dist
from torch import Tensor
from torch.distributed.elastic.multiprocessing.errors import record
from torch.nn.parallel import DistributedDataParallel

#: The folder holding the ``neuroicl`` package, put on the workers' PYTHONPATH.
_SOURCE = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class World:
    """This process's place among the job's DDP workers (``torchrun``'s environment).

    Attributes:
        rank: 0 … size - 1; rank 0 writes the checkpoints and the outputs.
        size: number of worker processes N (1 = no DDP).
        local_rank: index of this worker on its node, i.e. its GPU ``cuda:<local_rank>``.
    """

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    def __post_init__(self) -> None:
        if self.size < 1 or not 0 <= self.rank < self.size or self.local_rank < 0:
            raise ValueError(f"a DDP world needs size >= 1, 0 <= rank < size and local_rank >= 0; got {self}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> World:
        """The world ``torchrun`` describes in RANK, WORLD_SIZE, LOCAL_RANK (unset: 0, 1, 0 — one process)."""
        environ = os.environ if environ is None else environ
        values = {}
        for field, variable, default in (("rank", "RANK", 0), ("size", "WORLD_SIZE", 1), ("local_rank", "LOCAL_RANK", 0)):
            text = environ.get(variable, str(default))
            try:
                values[field] = int(text)
            except ValueError:
                raise ValueError(f"environment variable {variable}={text!r} is not an integer (set by torchrun)") from None
        return cls(**values)

    def shard(self, batch_size: int, name: str = "training") -> slice:
        """This rank's part ``[rank·B/N, (rank+1)·B/N)`` of a step's ``B`` episodes.

        Raises:
            ValueError: ``B`` is not a multiple of N (``name`` is the run, for the message).
        """
        if batch_size % self.size:
            raise ValueError(
                f"{name}: batch size {batch_size} is not divisible by the {self.size} DDP processes (the job's gpu "
                f"resource); set the run's batch_size in training.runs to a multiple of {self.size}, or the gpu count "
                f"to a divisor of {batch_size}"
            )
        share = batch_size // self.size
        return slice(self.rank * share, (self.rank + 1) * share)


def replica_device(device: torch.device, world: World) -> torch.device:
    """The device of this rank's replica: ``cuda:<local_rank>`` under DDP on CUDA, else ``device``."""
    if world.size > 1 and device.type == "cuda":
        return torch.device("cuda", world.local_rank)
    return device


def replicate(model: torch.nn.Module, world: World) -> torch.nn.Module:
    """``model`` wrapped in :class:`DistributedDataParallel` when N > 1 (else itself).

    The wrapper broadcasts rank 0's weights at construction and averages the gradients in ``backward``.
    ``static_graph``: every step runs the same layers, and some of them never reach the loss (the last
    level's context update of Neuralizer, computed as in the paper, and UniverSeg's last support
    convolution: ``neuroicl.models.backbone``); DDP learns that set in the first step instead of
    failing in the second (or searching the graph in every step, as ``find_unused_parameters`` would).
    """
    if world.size == 1:
        return model
    device = next(model.parameters()).device
    return DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None, static_graph=True)


def mean_over_ranks(value: Tensor, world: World) -> Tensor:
    """The mean of a tensor over the ranks (one all-reduce; ``value`` itself when N = 1)."""
    if world.size == 1:
        return value
    total = value.detach().clone()
    dist.all_reduce(total, op=dist.ReduceOp.SUM)  # gloo has no AVG
    return total / world.size


def launch(spec_path: str | os.PathLike, processes: int, log: IO[str]) -> None:
    """Run :func:`main` on ``spec_path`` in ``processes`` workers (``torchrun --standalone``); wait for them.

    Args:
        spec_path: the job's spec (:meth:`neuroicl.training.job.TrainJob.write`).
        processes: workers N, one per GPU of the job.
        log: the rule's open log file; torchrun's and the workers' stdout and stderr go to it (the same
            open file, so their lines follow the caller's instead of overwriting them).

    Raises:
        RuntimeError: a worker failed; its traceback is in the log.
    """
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}",
               "-m", "neuroicl.training.distributed", str(spec_path)]  # fmt: skip
    path = os.pathsep.join(filter(None, [str(_SOURCE), os.environ.get("PYTHONPATH")]))
    log.flush()
    done = subprocess.run(command, stdout=log, stderr=log, env={**os.environ, "PYTHONPATH": path}, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"DDP training with {processes} processes failed (torchrun exit status {done.returncode}); "
            f"the workers' tracebacks are in {getattr(log, 'name', 'the rule log')}"
        )


@record
def main(argv: Sequence[str] | None = None) -> dict[str, torch.nn.Module]:
    """A worker: join the process group, run the job of the spec file ``argv[0]``, leave the group.

    Returns:
        The trained networks (this rank's replicas), keyed by label.
    """
    from neuroicl.training.job import TrainJob, run_job  # not at the top: job → runner → loop imports this module
    from neuroicl.training.runner import pick_device

    args = sys.argv[1:] if argv is None else list(argv)
    if len(args) != 1:
        raise SystemExit(f"usage: torchrun --nproc-per-node=N -m neuroicl.training.distributed SPEC.json; got {args}")
    (spec,) = args
    world = World.from_env()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, force=True,
                        format=f"%(asctime)s rank {world.rank} %(levelname)s %(message)s")  # fmt: skip
    job = TrainJob.read(spec)
    device = replica_device(pick_device(job.config["training"]["device"]), world)
    if device.type == "cuda":
        if world.local_rank >= torch.cuda.device_count():
            raise RuntimeError(f"DDP worker {world.local_rank} of {world.size} needs GPU cuda:{world.local_rank} but "
                               f"{torch.cuda.device_count()} are visible; give the job one GPU per process (its gpu "
                               f"resource)")  # fmt: skip
        torch.cuda.set_device(world.local_rank)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        return run_job(job, world)
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":  # run the package's module, so that every import sees one ``World`` class
    from neuroicl.training import distributed

    distributed.main()
