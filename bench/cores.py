"""Benchmark: how much work the host's cores do side by side — the reference training step alone and in k copies.

A demo time says little about the code unless the host is known: on a virtual machine two vCPUs may share one
physical core's units, or a neighbour may load the host, and its speed drifts within minutes. This times the
reference step of docs/performance.md (``bench.train_speed``'s U-Net at 48 × 48, 16 channels, L 1–8, batch 8, one
torch thread: what the demo's jobs run) in ``--copies`` spawned processes, in ``--rounds`` interleaved rounds: per
round one pass alone (the other copies asleep at a barrier), then one pass in every copy at once. It prints each
round's mean step time (wall; process CPU alone) and effective cores = copies × (step alone) / (mean step side by
side), and their median: two independent, steady cores give 2.0. Session 17's host: medians 1.60–2.02 of 2 in six
runs, its step alone 28–36 ms (docs/performance.md). Writes nothing.

Usage:
    python -m bench.cores [--copies 2] [--rounds 5] [--steps 40] [--warmup 5]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import queue
import statistics
import time
from dataclasses import dataclass

import torch

from bench import train_speed

#: The reference step's flags (docs/performance.md: ``python -m bench.train_speed`` with these).
REFERENCE = ["--models", "unet", "--device", "cpu", "--size", "48", "--channels", "16", "--context", "1-8",
             "--threads", "1"]


@dataclass(frozen=True)
class Pass:
    """One process's measured steps: mean wall and process-CPU milliseconds per step."""

    wall_ms: float
    cpu_ms: float


def reference_work(steps: int, warmup: int) -> train_speed.Workload:
    """The reference step's workload (``bench.train_speed.workload``) after ``warmup`` untimed steps."""
    args = train_speed.parser().parse_args([*REFERENCE, "--steps", str(steps), "--warmup", str(warmup)])
    config = train_speed.load_config(args.config)
    train_speed.loop_defaults(args, config)  # as the demo's jobs: bf16 where native, channels-last, no compile
    torch.set_num_threads(args.threads)
    work = train_speed.workload("unet", args, config, torch.device(args.device))
    train_speed.timed_pass(work, range(warmup), breakdown=False)
    return work


def timed(work: train_speed.Workload, first: int, steps: int) -> Pass:
    """Mean wall and process-CPU milliseconds of steps ``first`` … ``first + steps - 1``."""
    cpu = time.process_time()
    wall, _, _ = train_speed.timed_pass(work, range(first, first + steps), breakdown=False)
    return Pass(wall_ms=wall / steps * 1000, cpu_ms=(time.process_time() - cpu) / steps * 1000)


def _copy(index: int, rounds: int, steps: int, warmup: int, barrier, results) -> None:
    """One process: per round, copy 0 times a pass alone (the others wait at the barrier, asleep), then every
    copy times a pass at once."""
    work = reference_work(steps, warmup)
    first = warmup
    for r in range(rounds):
        barrier.wait()
        if index == 0:
            results.put(("alone", r, timed(work, first, steps)))
            first += steps
        barrier.wait()
        results.put(("side", r, timed(work, first, steps)))
        first += steps


def measure(copies: int, rounds: int, steps: int, warmup: int) -> tuple[list[Pass], list[list[Pass]]]:
    """``rounds`` interleaved measurements in ``copies`` spawned processes: per round the pass alone and the
    ``copies`` passes side by side (the host's speed drifts within minutes, so the two are taken together)."""
    context = mp.get_context("spawn")
    barrier, results = context.Barrier(copies), context.Queue()
    workers = [context.Process(target=_copy, args=(i, rounds, steps, warmup, barrier, results))
               for i in range(copies)]
    for worker in workers:
        worker.start()
    alone: list[Pass | None] = [None] * rounds
    side: list[list[Pass]] = [[] for _ in range(rounds)]
    received = 0
    while received < rounds * (copies + 1):
        try:
            kind, r, measured = results.get(timeout=1.0)
        except queue.Empty:
            failed = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
            if failed:  # the others would wait at the barrier for ever
                for worker in workers:
                    worker.terminate()
                message = f"a copy of the reference step exited with code {failed[0]}; its traceback is above"
                raise SystemExit(message) from None
            continue
        received += 1
        if kind == "alone":
            alone[r] = measured
        else:
            side[r].append(measured)
    for worker in workers:
        worker.join()
    return [a for a in alone if a is not None], side


def effective_cores(solo_ms: float, side_ms: list[float]) -> float:
    """Steps per unit time of the copies together, in units of one solo process's: k × solo / mean(side)."""
    return len(side_ms) * solo_ms / (sum(side_ms) / len(side_ms))


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=2, help="processes side by side (the demo: -c2)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of alone / side by side")
    parser.add_argument("--steps", type=int, default=40, help="measured steps per pass")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    args = parser.parse_args(argv)
    if min(args.copies, args.rounds, args.steps) < 1 or args.warmup < 0:
        parser.error("--copies, --rounds and --steps must be >= 1 and --warmup >= 0")
    torch.set_num_threads(1)  # as each copy, for the header
    alone, side = measure(args.copies, args.rounds, args.steps, args.warmup)
    per_round = [effective_cores(a.wall_ms, [p.wall_ms for p in s]) for a, s in zip(alone, side, strict=True)]
    print(f"torch {torch.__version__}, {train_speed.device_name(torch.device('cpu'))}, {args.steps} steps per pass")
    print("| round | alone: step wall / CPU (ms) | side by side: step wall per copy (ms) | effective cores |")
    print("|---:|---:|---:|---:|")
    for r, (a, s, cores) in enumerate(zip(alone, side, per_round, strict=True)):
        copies = ", ".join(f"{p.wall_ms:.1f}" for p in s)
        print(f"| {r + 1} | {a.wall_ms:.1f} / {a.cpu_ms:.1f} | {copies} | {cores:.2f} |")
    median = statistics.median(per_round)
    print(f"\neffective cores (median of {args.rounds} rounds): {median:.2f} of {args.copies} "
          f"(range {min(per_round):.2f}-{max(per_round):.2f})")
    return median


if __name__ == "__main__":
    main()
