"""bench/job_cpu.py: jobs grouped by system, CPU seconds from the logs beside the benchmark files' figures."""

from __future__ import annotations

import pandas as pd
import pytest

from bench.job_cpu import collect, markdown, summary, system_of
from neuroicl.core.logs import RESOURCES


@pytest.mark.parametrize(("job", "system"), [
    ("train/neuralizer-seen", "neuralizer"),
    ("evaluate/unet-segmentation-n1", "unet"),
    ("train/metaseg-ablation_random", "metaseg"),
    ("tables/metaseg_steps", "metaseg"),
    ("train/istn/embedded/segmentation/siteA/source", "istn"),
    ("figures/istn", "istn"),
    ("preprocess/embedded/subjects/sub-001", "data"),
    ("data/reference/anatomy", "data"),
    ("evaluate/metrics", "paper"),
    ("tables/table4", "paper"),
])
def test_a_job_counts_under_its_system(job, system):
    assert system_of(job) == system


def _job(root, job: str, cpu: float, sampled: float | None = None) -> None:
    log = root / "logs" / f"{job}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("start\n" + RESOURCES.format(cpu=cpu, user=cpu - 1, system=1.0, rss=500) + "\n")
    if sampled is not None:
        bench = root / "benchmarks" / f"{job}.tsv"
        bench.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame([{"s": cpu + 2, "cpu_time": sampled}]).to_csv(bench, sep="\t", index=False)


def test_shares_sum_the_logs_and_show_the_sampled_figures_beside(tmp_path):
    _job(tmp_path, "train/metaseg-segmentation-all", 40.0, sampled=15.0)
    _job(tmp_path, "tables/metaseg_steps", 20.0, sampled=15.0)
    _job(tmp_path, "train/unet-motion-n1", 10.0, sampled=9.5)
    _job(tmp_path, "tables/table4", 2.0)  # a rule without a benchmark file
    (tmp_path / "logs" / "old.log").write_text("no resource line\n")  # skipped
    jobs = collect(tmp_path)
    table = summary(jobs)
    assert list(table.index) == ["metaseg", "unet", "paper", "all"]
    assert table.loc["metaseg", "cpu_s"] == 60.0 and table.loc["metaseg", "bench_cpu_time"] == 30.0
    assert table.loc["all", "jobs"] == 4 and table.loc["all", "cpu_s"] == 72.0
    assert table.loc["metaseg", "cpu_min"] == 1.0
    text = markdown(table, "system")
    assert text.splitlines()[2].startswith("| metaseg | 2 | 60.0 | 1.0 | 30.0 |")


def test_no_logs_is_an_error_that_says_so(tmp_path):
    (tmp_path / "logs").mkdir()
    with pytest.raises(SystemExit, match="run the workflow first"):
        collect(tmp_path)
