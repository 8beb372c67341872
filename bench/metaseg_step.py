"""Benchmark: CPU milliseconds of one MetaSeg meta-learning step (``neuroicl.models.metaseg.meta_gradient``).

The settings of ``--config`` (default config/config.yaml, the demo: SIREN W = 64 with 3 hidden layers, first order,
2 inner steps on 512 random pixels; ``models.hyperparameters.metaseg`` and ``training.runs.metaseg``), the outer loss
on all pixels of a 48 x 48 slice, on random images and masks, one torch thread; ``--batch`` pairs per step (the demo:
4 per class). ``--profile`` adds torch's operator table. Writes nothing.

Usage:
    python -m bench.metaseg_step [--config config/config.yaml] [--batch 4] [--steps 50] [--profile]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import torch
import yaml

from neuroicl.models.metaseg import MetaSeg, MetaSegConfig, grid_coords, meta_gradient

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "config" / "config.yaml"


def step_ms(batch: int, steps: int, size: int = 48, warmup: int = 5, profile: bool = False,
            settings: dict[str, Any] | None = None) -> float:
    """Mean process-CPU milliseconds of one meta step on ``batch`` random (image, mask) pairs, with ``settings``
    (a config: its MetaSeg model and run blocks; default :data:`DEFAULT_CONFIG`)."""
    settings = settings or yaml.safe_load(DEFAULT_CONFIG.read_text())
    run = settings["training"]["runs"]["metaseg"]
    config = MetaSegConfig(**settings["models"]["hyperparameters"]["metaseg"])
    theta = MetaSeg(config, generator=torch.Generator().manual_seed(0)).params()
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(batch, size * size, 3, generator=generator)
    labels = (torch.rand(batch, size * size, generator=generator) > 0.5).long()
    coords = grid_coords(size, size)

    def step() -> None:
        meta_gradient(theta, config, coords, images, labels, inner_steps=run["inner_steps"], order=run["order"],
                      gamma=run["gamma"], pixels=run["pixels"], generator=generator)

    for _ in range(warmup):
        step()
    start = time.process_time()
    for _ in range(steps):
        step()
    mean = (time.process_time() - start) / steps * 1000
    if profile:
        with torch.profiler.profile() as prof:
            for _ in range(10):
                step()
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))
    return mean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="a full config (the demo's by default)")
    parser.add_argument("--batch", type=int, default=4, help="(image, mask) pairs per meta step")
    parser.add_argument("--steps", type=int, default=50, help="measured steps")
    parser.add_argument("--profile", action="store_true", help="print torch's operator table too")
    args = parser.parse_args()
    torch.set_num_threads(1)
    settings = yaml.safe_load(args.config.read_text())
    mean = step_ms(args.batch, args.steps, profile=args.profile, settings=settings)
    print(f"B = {args.batch}: {mean:.1f} ms per meta step")


if __name__ == "__main__":
    main()
