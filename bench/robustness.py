"""Does the demo's science hold whatever the seed or the float order?

Trains the config's ``neuralizer-seen`` run (its steps, batch size, loss weights, class hold-out) and its
task-specific U-Nets (every task, every training-subject count, each at its own steps) at each seed, plus
once with more CPU threads (a different float summation order), scores them with the context mean and
the identity on the test split exactly as the pipeline does, and prints for each seed the claims of
:mod:`neuroicl.paper.claims` that the issue's checks name: Neuralizer-seen at L = 32 beats the floor of
segmentation and of every image task (the context mean on segmentation, the identity on the image
tasks); its score rises from L = 1 to L = 32 on at least 6 of the 8 tasks; the U-Net on all subjects is
at least as good as the one on 1 subject on every task; each U-Net row beats its floor on at least half
its tasks. The seed changes the weights, every step's draws and the 1-subject U-Net's subject.

Needs the demo's slice store and split: ``snakemake -c2 results/preprocess/embedded/slices/index.tsv
results/splits/embedded.json`` first. Each seed is one process with its own threads; ``--jobs`` of them
run side by side.

Usage: python -m bench.robustness [--config config/config.yaml] [--results results] [--seeds 0 1 2]
       [--threads 1] [--perturbed-threads 2] [--jobs 2] [--out benchmarks/robustness] [--reuse] [--no-unets]
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


def train_and_score(config_path: Path, results: Path, seed: int, threads: int, out: Path, unets: bool = True) -> Path:
    """The trainings of one seed (in this process) with ``threads``; returns their Table 4 summary CSV."""
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
    trained = [plan.run("neuralizer-seen")] + ([run for run in plan.runs if run.model == "unet"] if unets else [])
    tables, seconds = [], {}
    for run in trained:
        config_run = plan.run_config(run.name)
        start = time.perf_counter()
        networks, log, _ = fit(run, config_run, stores, splits, out / "checkpoints" / name, progress=False)
        seconds[run.name] = time.perf_counter() - start
        model = out / "models" / name / f"{run.name}.pt"
        model.parent.mkdir(parents=True, exist_ok=True)
        save_networks(model, run.name, run.model, config_run["models"]["hyperparameters"][run.model], networks)
        tables.append(evaluate_run(run, config_run, stores, splits, str(model), "cpu")[0])
    tables += [evaluate_run(plan.run(r), plan.run_config(r), stores, splits, None, "cpu")[0]
               for r in ("context_mean", "identity")]
    summary = summarize(pd.concat(tables, ignore_index=True)).assign(
        seed=seed, threads=threads, train_seconds=round(seconds["neuralizer-seen"], 1),
        unet_seconds=round(sum(v for k, v in seconds.items() if k.startswith("unet")), 1))
    path = out / f"{name}.csv"
    summary.to_csv(path, index=False)
    return path


#: The tasks whose floor the checks require Neuralizer-seen to beat: segmentation and every image task
#: (skull stripping is shown too; its floor, the registered brain-mask prior, is a tie at demo scale).
REQUIRED = ("segmentation", "modality_transfer", "super_resolution", "motion", "undersampling", "denoising",
            "inpainting")


def checks(summary: pd.DataFrame) -> dict[str, object]:
    """The science checks of one seed's trainings, from their summary (the U-Net ones if U-Nets were trained)."""
    from neuroicl.paper.claims import (
        UNET,
        Means,
        seen_beats_floor,
        seen_rises_with_context,
        unet_all_beats_one,
        unet_rows_beat_floor,
    )

    def versus(row: dict) -> str:
        return f"{row['value']:.2f} vs {row['reference_value']:.2f}" + ("" if row["verdict"] == "PASS" else " (below)")

    means = Means(summary)
    floor_rows, rise_rows = seen_beats_floor(means), seen_rises_with_context(means)
    rises = sum(row["verdict"] == "PASS" for row in rise_rows)
    result = {row["task"]: versus(row) for row in floor_rows}
    result["beats the floor: segmentation, every image task"] = all(
        row["verdict"] == "PASS" for row in floor_rows if row["task"] in REQUIRED)
    result["rises L1→L32"] = f"{rises} of {len(rise_rows)}"
    result["rises on ≥ 6 of 8"] = rises >= 6
    if means.tasks(UNET):
        scaling, floors = unet_all_beats_one(means), unet_rows_beat_floor(means)
        result |= {f"U-Net all vs 1: {row['task']}": versus(row) for row in scaling}
        result["U-Net all ≥ 1 on every task"] = all(row["verdict"] == "PASS" for row in scaling)
        for row in floors:
            result[f"{row['measured']} beats its floor on"] = f"{row['value']:.0f} of {2 * row['reference_value']:.0f}"
        result["each U-Net row ≥ floor on half its tasks"] = all(row["verdict"] == "PASS" for row in floors)
    return result


#: The checks that must hold at every seed and float order (those present).
VERDICTS = ("beats the floor: segmentation, every image task", "rises on ≥ 6 of 8", "U-Net all ≥ 1 on every task",
            "each U-Net row ≥ floor on half its tasks")


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
    parser.add_argument("--no-unets", dest="unets", action="store_false", help="train Neuralizer-seen only")
    parser.add_argument("--one", nargs=2, type=int, metavar=("SEED", "THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.one:
        train_and_score(args.config, args.results, *args.one, args.out, args.unets)
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
        command += [] if args.unets else ["--no-unets"]
        subprocess.run(command, check=True)
        return args.out / f"seed{seed}-threads{threads}.csv"

    with ThreadPoolExecutor(args.jobs) as pool:
        paths = list(pool.map(worker, plans))
    rows = []
    for (seed, threads), path in zip(plans, paths, strict=True):
        summary = pd.read_csv(path, keep_default_na=False, na_values={"mean": [""], "std": [""], "x": [""]})
        rows.append({"seed": seed, "threads": threads, "Neuralizer train s": summary["train_seconds"].iloc[0],
                     "U-Nets train s": summary["unet_seconds"].iloc[0], **checks(summary)})
    table = pd.DataFrame(rows)
    print(table.T.to_string(header=False))
    every = all(table[check].all() for check in VERDICTS if check in table)
    print(f"\nall checks hold at every seed and float order: {every}")


if __name__ == "__main__":
    main()
