"""This process's place among a training job's DDP workers, and what DDP changes in a step.

One process (the default, ``World()``) is the plain case: :func:`replicate` returns the model itself
and :func:`mean_over_ranks` the value itself. Starting the workers: :mod:`neuroicl.training.distributed`.

Example:
    >>> World.from_env({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"})
    World(rank=1, size=2, local_rank=1)
    >>> World().shard(8)  # one process: the whole batch
    slice(0, 8, None)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor
from torch.nn.parallel import DistributedDataParallel


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
        for field, variable, default in (
            ("rank", "RANK", 0),
            ("size", "WORLD_SIZE", 1),
            ("local_rank", "LOCAL_RANK", 0),
        ):
            text = environ.get(variable, str(default))
            try:
                values[field] = int(text)
            except ValueError:
                raise ValueError(
                    f"environment variable {variable}={text!r} is not an integer (set by torchrun)"
                ) from None
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
