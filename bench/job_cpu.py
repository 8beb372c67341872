"""CPU seconds of a finished workflow's jobs, per system of the comparison: the issues' "share" measure.

Every job's log ends with its resource line (``neuroicl.core.logs.RESOURCES``: ``getrusage`` of the script's process
and its children, imports included). Snakemake's benchmark files are read beside it: their wall time ``s`` is exact,
but their ``cpu_time`` is the last of samples taken every 0.5 s for a job's first 15 s and every 30 s after, so it
misses up to 30 s of each job's end (a 40-s job reads 15 s) and is shown only for comparison. A job is grouped by
system from its log path: ``train/<run>`` and ``evaluate/<run>`` by the run's model (the name before the first
``-``), anything with ``istn`` or ``metaseg`` in its path by that study, ``data``/``preprocess`` as data, the rest as
paper outputs. Writes nothing; prints a Markdown table (``--jobs``: one row per job as well).

Usage (after ``snakemake -c2 all`` in ``<checkout>``):
    python -m bench.job_cpu --root <checkout> [--jobs]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from neuroicl.core.logs import job_resources

#: Systems named by a path component (checked before the run's model).
STUDIES = ("istn", "metaseg")
DATA_STAGES = ("data", "preprocess", "splits")


def system_of(job: str) -> str:
    """The system a job's log path (relative to ``logs/``, without ``.log``) is counted under."""
    parts = job.split("/")
    for study in STUDIES:
        if any(part == study or part.startswith(f"{study}_") or part.startswith(f"{study}-") for part in parts):
            return study
    if parts[0] in DATA_STAGES:
        return "data"
    if parts[0] in ("train", "evaluate") and len(parts) == 2 and parts[1] != "metrics":
        return parts[1].split("-")[0]
    return "paper"


def collect(root: Path) -> pd.DataFrame:
    """One row per job log under ``root/logs``: its system, the log's CPU seconds and peak RSS, and the benchmark
    file's wall seconds and sampled ``cpu_time`` (NaN where a rule keeps no benchmark)."""
    rows = []
    for log in sorted((root / "logs").rglob("*.log")):
        job = log.relative_to(root / "logs").with_suffix("").as_posix()
        measured = job_resources(log)
        if measured is None:
            continue
        bench = root / "benchmarks" / f"{job}.tsv"
        wall, sampled = float("nan"), float("nan")
        if bench.exists():
            table = pd.read_csv(bench, sep="\t")
            wall, sampled = float(table["s"].iloc[0]), float(table["cpu_time"].iloc[0])
        rows.append({"job": job, "system": system_of(job), "cpu_s": measured["cpu_s"],
                     "system_s": measured["system_s"], "max_rss_mb": measured["max_rss_mb"],
                     "bench_wall_s": wall, "bench_cpu_time": sampled})
    if not rows:
        raise SystemExit(f"no job log with a resource line under {root / 'logs'}: run the workflow first "
                         "(logs written before neuroicl.core.logs logged resources have none)")
    return pd.DataFrame(rows)


def summary(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per system: jobs, CPU seconds and minutes from the logs, the benchmark files' sampled cpu_time and wall."""
    table = jobs.groupby("system").agg(jobs=("job", "size"), cpu_s=("cpu_s", "sum"),
                                        bench_cpu_time=("bench_cpu_time", "sum"), bench_wall_s=("bench_wall_s", "sum"))
    table["cpu_min"] = table["cpu_s"] / 60
    table = table.sort_values("cpu_s", ascending=False)
    total = pd.DataFrame([{"jobs": table["jobs"].sum(), "cpu_s": table["cpu_s"].sum(),
                           "bench_cpu_time": table["bench_cpu_time"].sum(),
                           "bench_wall_s": table["bench_wall_s"].sum(), "cpu_min": table["cpu_s"].sum() / 60}],
                         index=["all"])
    return pd.concat([table, total])[["jobs", "cpu_s", "cpu_min", "bench_cpu_time", "bench_wall_s"]]


def markdown(table: pd.DataFrame, index: str | None = None) -> str:
    """``table`` as a Markdown table, numbers to one decimal (its index as a first column named ``index``)."""
    if index is not None:
        table = table.rename_axis(index).reset_index()

    def cell(value: object) -> str:
        return f"{value:.1f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=Path("."), help="a checkout after snakemake (default: here)")
    parser.add_argument("--jobs", action="store_true", help="also list every job")
    args = parser.parse_args()
    jobs = collect(args.root)
    print(markdown(summary(jobs), "system"))
    if args.jobs:
        print()
        print(markdown(jobs.sort_values("cpu_s", ascending=False)))


if __name__ == "__main__":
    main()
