"""Several GPUs in one training job: DistributedDataParallel (DDP) over ``torchrun`` worker processes.

A training job given ``gpu: N > 1`` (its Snakemake ``resources``) starts ``N`` workers on its node with
``torchrun --standalone`` (:func:`launch`); each runs :func:`main` on the job's spec file
(:mod:`neuroicl.training.job`), trains one replica of the network on ``cuda:<LOCAL_RANK>`` (gloo on
the CPU) and synthesises ``B / N`` of every step's ``B`` episodes. The gradients are averaged over the
workers, so every replica holds the same weights; rank 0 alone writes the checkpoints and outputs.

The workers import the installed ``neuroicl`` package (``pip install -e .``, or the conda envs' post-deploy
step), exactly as the job itself does. This process's place among them: :mod:`neuroicl.training.world`.

Example:
    >>> launch_job(job, processes=4, log=sys.stderr)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import torch
import torch.distributed as dist
from torch.distributed.elastic.multiprocessing.errors import record

from neuroicl.core.device import pick_device
from neuroicl.training.job import TrainJob, run_job
from neuroicl.training.world import World, replica_device


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
               "-m", "neuroicl.training.distributed", str(spec_path)]
    log.flush()
    done = subprocess.run(command, stdout=log, stderr=log, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"DDP training with {processes} processes failed (torchrun exit status {done.returncode}); "
            f"the workers' tracebacks are in {getattr(log, 'name', 'the rule log')}"
        )

def launch_job(job: TrainJob, processes: int, log: IO[str]) -> None:
    """Run the job in ``processes`` DDP workers: its spec goes to a hidden file beside the model file,
    removed afterwards.

    Args:
        job: the job.
        processes: workers, one per GPU of the job (> 1).
        log: the rule's open log file (the workers write to it).
    """
    spec = Path(job.model).with_name(f".{Path(job.model).stem}.spec-{os.getpid()}.json")
    job.write(spec)
    try:
        launch(spec, processes, log)
    finally:
        spec.unlink(missing_ok=True)


@record
def main(argv: Sequence[str] | None = None) -> dict[str, torch.nn.Module]:
    """A worker: join the process group, run the job of the spec file ``argv[0]``, leave the group.

    Returns:
        The trained networks (this rank's replicas), keyed by label.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    if len(args) != 1:
        raise SystemExit(f"usage: torchrun --nproc-per-node=N -m neuroicl.training.distributed SPEC.json; got {args}")
    (spec,) = args
    world = World.from_env()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, force=True,
                        format=f"%(asctime)s rank {world.rank} %(levelname)s %(message)s")
    job = TrainJob.read(spec)
    device = replica_device(pick_device(job.config["training"]["device"]), world)
    if device.type == "cuda":
        if world.local_rank >= torch.cuda.device_count():
            raise RuntimeError(f"DDP worker {world.local_rank} of {world.size} needs GPU cuda:{world.local_rank} but "
                               f"{torch.cuda.device_count()} are visible; give the job one GPU per process (its gpu "
                               f"resource)")
        torch.cuda.set_device(world.local_rank)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        return run_job(job, world)
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
