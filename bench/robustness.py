"""Does the demo's Neuralizer-seen hold its science checks whatever the seed or the float order?

Trains the config's ``neuralizer-seen`` run (its steps, batch size, loss weights, class hold-out) at each
seed, plus once with more CPU threads (a different float summation order), scores it with the context
mean and the identity on the test split exactly as the pipeline does, and prints for each training the
claims of :mod:`neuroicl.paper.claims` that concern it: Neuralizer-seen at L = 32 beats the floor of every
task (the context mean on segmentation and skull stripping, the identity on the image tasks), and its
score rises from L = 1 to L = 32 (on at least 6 of the 8 tasks).

Needs the demo's slice store and split: ``snakemake -c2 results/preprocess/embedded/slices/index.tsv
results/splits/embedded.json`` first. Each training is one process with its own threads; ``--jobs``
of them run side by side.

Usage: python -m bench.robustness [--config config/config.yaml] [--results results] [--seeds 0 1 2]
       [--threads 1] [--perturbed-threads 2] [--jobs 2] [--out benchmarks/robustness] [--reuse]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import yaml


def train_and_score(config_path: Path, results: Path, seed: int, threads: int, out: Path) -> Path:
    """One training (in this process) at ``seed`` with ``threads``; returns its Table 4 summary CSV."""
    import torch

    from neuroicl.data.sources import open_datasets
    from neuroicl.evaluation.job import evaluate_run
    from neuroicl.models.model_file import save_networks
    from neuroicl.paper.table4 import summarize
    from neuroicl.plan.experiment import Plan
    from neuroicl.training.runner import fit

    torch.set_num_threads(threads)
    config = yaml.safe_load(config_path.read_text())
    config["training"]["seed"] = seed
    plan = Plan.from_config(config)
    store, split = results / "preprocess" / "embedded" / "slices" / "index.tsv", results / "splits" / "embedded.json"
    if not store.is_file() or not split.is_file():
        raise SystemExit(f"{store} or {split} is missing: run `snakemake -c2 {store} {split}` first")
    stores, splits = open_datasets(["embedded"], [str(store)], [str(split)])
    name = f"seed{seed}-threads{threads}"
    run = plan.run("neuralizer-seen")
    start = time.perf_counter()
    networks, log = fit(run, plan.run_config(run.name), stores, splits, out / "checkpoints" / name, progress=False)
    seconds = time.perf_counter() - start
    model = out / f"{name}.pt"
    save_networks(model, run.name, run.model, plan.run_config(run.name)["models"]["hyperparameters"][run.model],
                  networks)
    tables = [evaluate_run(plan.run(r), plan.run_config(r), stores, splits, str(model) if r == run.name else None,
                           "cpu")[0] for r in (run.name, "context_mean", "identity")]
    summary = summarize(pd.concat(tables, ignore_index=True)).assign(seed=seed, threads=threads,
                                                                     train_seconds=round(seconds, 1),
                                                                     final_loss=log[-1]["loss"])
    path = out / f"{name}.csv"
    summary.to_csv(path, index=False)
    return path


#: The tasks whose floor the checks require Neuralizer-seen to beat: segmentation and every image task
#: (skull stripping is shown too; its floor, the registered brain-mask prior, is a tie at demo scale).
REQUIRED = ("segmentation", "modality_transfer", "super_resolution", "motion", "undersampling", "denoising",
            "inpainting")


def checks(summary: pd.DataFrame) -> dict[str, object]:
    """The science checks of one training, from its summary."""
    from neuroicl.paper.claims import Means, seen_beats_floor, seen_rises_with_context

    means = Means(summary)
    floor_rows, rise_rows = seen_beats_floor(means), seen_rises_with_context(means)
    rises = sum(row["verdict"] == "PASS" for row in rise_rows)
    result = {row["task"]: f"{row['value']:.2f} vs {row['reference_value']:.2f}" + ("" if row["verdict"] == "PASS"
              else " (below)") for row in floor_rows}
    result["beats the floor: segmentation, every image task"] = all(
        row["verdict"] == "PASS" for row in floor_rows if row["task"] in REQUIRED)
    result["rises L1→L32"] = f"{rises} of {len(rise_rows)}"
    result["rises on ≥ 6 of 8"] = rises >= 6
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=Path("config/config.yaml"))
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1, help="threads of the seed runs (the demo's)")
    parser.add_argument("--perturbed-threads", type=int, default=2,
                        help="threads of one more run at the first seed (0: none)")
    parser.add_argument("--jobs", type=int, default=2, help="trainings side by side")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/robustness"))
    parser.add_argument("--reuse", action="store_true", help="keep the trainings whose results are in --out already")
    parser.add_argument("--one", nargs=2, type=int, metavar=("SEED", "THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.one:
        train_and_score(args.config, args.results, *args.one, args.out)
        return
    plans = [(seed, args.threads) for seed in args.seeds]
    if args.perturbed_threads > 0:
        plans.append((args.seeds[0], args.perturbed_threads))

    def worker(seed_threads: tuple[int, int]) -> Path:
        seed, threads = seed_threads
        if args.reuse and (args.out / f"seed{seed}-threads{threads}.csv").is_file():
            return args.out / f"seed{seed}-threads{threads}.csv"
        command = [sys.executable, "-m", "bench.robustness", "--config", str(args.config), "--results",
                   str(args.results), "--out", str(args.out), "--one", str(seed), str(threads)]
        subprocess.run(command, check=True)
        return args.out / f"seed{seed}-threads{threads}.csv"

    with ThreadPoolExecutor(args.jobs) as pool:
        paths = list(pool.map(worker, plans))
    rows = []
    for (seed, threads), path in zip(plans, paths, strict=True):
        summary = pd.read_csv(path, keep_default_na=False, na_values={"mean": [""], "std": [""], "x": [""]})
        rows.append({"seed": seed, "threads": threads, "train s": summary["train_seconds"].iloc[0], **checks(summary)})
    table = pd.DataFrame(rows)
    print(table.T.to_string(header=False))
    every = table["beats the floor: segmentation, every image task"].all() and table["rises on ≥ 6 of 8"].all()
    print(f"\nall checks hold at every seed and float order: {every}")


if __name__ == "__main__":
    main()
