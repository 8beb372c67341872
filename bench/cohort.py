"""Benchmark: wall time to synthesize one embedded-cohort subject, per site, on this machine.

Usage: python -m bench.cohort [--config config/config.yaml] [--subjects 6] [--threads 2]
Prints a table (site, voxels, render s, write s, total s) and the mean; see docs/performance.md.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time

import pandas as pd
import torch
import yaml

from neuroicl.data.anatomy import build_anatomy
from neuroicl.data.cohort import render_subject, sample_participants, sample_subject, write_subject
from neuroicl.data.reference import load_reference
from neuroicl.plan.cohort import CohortSpec
from neuroicl.plan.reference import resolve_reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/config.yaml")
    parser.add_argument("--subjects", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = yaml.safe_load(open(args.config))
    spec = CohortSpec.from_config(config["cohort"])

    start = time.perf_counter()
    anatomy = build_anatomy(
        load_reference(resolve_reference(config["reference"])), config["cohort"]["deformation"]["grid_mm"]
    )
    print(f"reference anatomy: {time.perf_counter() - start:.1f} s (once per cohort)")

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for _, participant in sample_participants(spec).head(args.subjects).iterrows():
            t0 = time.perf_counter()
            params = sample_subject(spec, participant.to_dict(), anatomy)
            subject = render_subject(params, spec, anatomy)
            t1 = time.perf_counter()
            write_subject(subject, params, spec.subject_paths(folder, participant["participant_id"]))
            t2 = time.perf_counter()
            rows.append((participant["participant_id"], params.site.name, subject.dseg.size, t1 - t0, t2 - t1, t2 - t0))
    table = pd.DataFrame(rows, columns=["subject", "site", "voxels", "render_s", "write_s", "total_s"])
    print(table.round(2).to_string(index=False))
    print(
        f"mean per subject: {table['total_s'].mean():.2f} s (threads={args.threads}, "
        f"{platform.processor() or platform.machine()}, torch {torch.__version__})"
    )


if __name__ == "__main__":
    main()
