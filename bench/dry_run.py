"""Time the paper-scale dry run: ``snakemake -n --configfile config/paper.yaml`` (the DAG of the full sweep).

Each repeat runs Snakemake in a new, empty working directory holding only ``config/``, so no existing
product shortens the DAG; the workflow and the config come from ``--root`` (another checkout, e.g. an
earlier commit, to compare against). Prints each wall time, the median and the DAG's job count.

Usage: python -m bench.dry_run [--root .] [--config config/paper.yaml] [--repeats 3]
"""

from __future__ import annotations

import argparse
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def dry_run(root: Path, config: str) -> tuple[float, int]:
    """Wall seconds of one dry run of ``root``'s workflow with ``config``, and the number of jobs it lists."""
    with tempfile.TemporaryDirectory() as folder:
        shutil.copytree(root / "config", Path(folder) / "config")
        command = [sys.executable, "-m", "snakemake", "-n", "-s", str(root / "workflow" / "Snakefile"), "-d", folder,
                   "--configfile", str(Path(folder) / config)]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"the dry run failed:\n{done.stderr[-3000:]}")
    jobs = re.search(r"^total\s+(\d+)$", done.stdout + done.stderr, re.M)
    return seconds, int(jobs.group(1)) if jobs else -1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=Path("."), help="the checkout whose workflow is timed")
    parser.add_argument("--config", default="config/paper.yaml", help="config file, relative to the checkout")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    root = args.root.resolve()
    times = []
    for repeat in range(args.repeats):
        seconds, jobs = dry_run(root, args.config)
        times.append(seconds)
        print(f"run {repeat + 1}: {seconds:.2f} s ({jobs} jobs)")
    print(f"median: {statistics.median(times):.2f} s over {args.repeats} runs of {root} ({args.config}); "
          f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")


if __name__ == "__main__":
    main()
