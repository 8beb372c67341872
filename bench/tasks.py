"""Benchmark: items/s of batched task synthesis vs the per-sample TorchIO path, same tasks, same items.

batched:    ``neuroicl.tasks.synthesize.synthesize`` on B episodes of L+1 items (gather, task,
            augmentations) on ``--device``.
per-sample: ``tests.helpers.torchio_reference`` item by item on the CPU, on the same items (gathered
            beforehand, untimed; only each item's used channels): the task's degradation where TorchIO
            covers it (motion, denoising, super_resolution), then the episode's spatial augmentations.
Rows: motion, denoising, super_resolution (no augmentations); spatial (segmentation episodes with
random_affine + random_elastic + random_flip); mixed (tasks drawn with tasks.weights, the config's
augmentation tree). In ``mixed`` the per-sample path skips what TorchIO does not cover (other tasks,
intensity/channel/mask augmentations), so it does less work than the batched one.
Usage: python -m bench.tasks [--store results/preprocess/embedded/slices] [--splits results/splits/embedded.json]
       [--batch 16] [--context 15] [--device cpu] [--threads 2] [--repeats 5]
Needs the slice store and splits (`snakemake -c2 all`). Prints a Markdown table; writes nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torchio
import yaml

from neuroicl.data.slice_store import SliceStore
from neuroicl.data.splits import read_splits
from neuroicl.tasks.augment import AugmentationTree
from neuroicl.tasks.catalog import build_tasks
from neuroicl.tasks.episodes import ContextSettings, Episode, EpisodeSampler
from neuroicl.tasks.pool import Pool
from neuroicl.tasks.synthesize import gather, synthesize, upload
from neuroicl.tasks.synthesize import plan as plan_batch
from tests.helpers import torchio_reference as reference

ROWS = ("motion", "denoising", "super_resolution", "spatial", "mixed")
SPATIAL = ("random_affine", "random_elastic", "random_flip")
DEGRADATIONS = ("motion", "denoising", "super_resolution")


def plan(row: str, sampler: EpisodeSampler, rng: np.random.Generator, batch: int, context: int) -> list[Episode]:
    """The B episodes of one benchmark row (planned once, untimed)."""
    if row == "mixed":
        return sampler.sample(rng, batch, context_size=context)
    if row == "spatial":
        episodes = [sampler.episode(rng, "segmentation", context, augment=False) for _ in range(batch)]
        return [dataclasses.replace(e, augmentations=SPATIAL) for e in episodes]
    return [sampler.episode(rng, row, context, augment=False) for _ in range(batch)]


def per_sample(episodes: list[Episode], items: dict[str, torch.Tensor]) -> None:
    """Every item of ``episodes`` through TorchIO, one at a time (module docstring)."""
    per = episodes[0].context_size + 1
    for i in range(len(items["images"])):
        episode = episodes[i // per]
        image, labels = items["images"][i, items["channels"][i]], items["labels"][i]
        if episode.task in DEGRADATIONS:
            image = reference.per_sample(episode.task, image, None, rng_seed=i)[0]
        flags = [name in episode.augmentations for name in SPATIAL]
        if any(flags):
            with reference.seeded(i):
                reference.spatial(image, labels, *flags)


def timed(run: Callable[[], object], repeats: int, device: torch.device) -> float:
    """Median wall time of ``repeats`` calls of ``run`` (seconds), after one warm-up call."""
    run()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def machine(device: torch.device) -> str:
    """CPU model, cores, device and library versions."""
    cpu = platform.processor() or platform.machine()
    if Path("/proc/cpuinfo").is_file():
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
        cpu = names[0] if names else cpu
    gpu = f", GPU {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""
    return (
        f"CPU {cpu}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}{gpu}; "
        f"python {platform.python_version()}, torch {torch.__version__}, torchio {torchio.__version__}, "
        f"numpy {np.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="results/preprocess/embedded/slices")
    parser.add_argument("--splits", default="results/splits/embedded.json", help="its 'train' subjects are used")
    parser.add_argument("--config", default="config/config.yaml")
    parser.add_argument("--batch", type=int, default=16, help="episodes B per batch")
    parser.add_argument("--context", type=int, default=15, help="context size L (L+1 items per episode)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="device of the batched path")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs after one warm-up; the median is reported")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated subset of {','.join(ROWS)}")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = args.rows.split(",")
    unknown = sorted(set(rows) - set(ROWS))
    if unknown:
        parser.error(f"--rows: unknown {unknown}; choose from {list(ROWS)}")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: CUDA is not available on this machine")
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    config = yaml.safe_load(Path(args.config).read_text())["tasks"]
    store = SliceStore.open(args.store)
    pool = Pool.from_store(Path(args.store).parent.name, store, read_splits(args.splits)["train"], device)
    tasks = build_tasks(config["settings"])
    tree = AugmentationTree.from_config(config["augmentations"])
    context = config["context"]
    settings = ContextSettings(tuple(context["size"]), context["slice_window"], tuple(context["dataset_mix"]))
    sampler = EpisodeSampler([pool], tasks, config["weights"], settings, tree, config["omit"])
    rng, generator = np.random.default_rng(args.seed), torch.Generator(device).manual_seed(args.seed)

    print(f"command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    print(f"settings: {vars(args)}")
    print(f"machine: {machine(device)}\n")
    print("| task | items | batched items/s | TorchIO per-sample items/s | speed-up |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        episodes = plan(row, sampler, rng, args.batch, args.context)
        index = upload(plan_batch([pool], episodes, tasks, tree), device)
        n_items = len(episodes) * (episodes[0].context_size + 1)
        items = {k: v.cpu() for k, v in gather([pool], index, n_items).items()}
        n = len(items["images"])
        batched = timed(partial(synthesize, [pool], episodes, tasks, tree, generator), args.repeats, device)
        single = timed(partial(per_sample, episodes, items), args.repeats, torch.device("cpu"))
        print(f"| {row} | {n} | {n / batched:.0f} | {n / single:.0f} | {single / batched:.1f}× |", flush=True)


if __name__ == "__main__":
    main()
