"""One path pattern: products under results/<stage>/ (inputs under resources/), and each job's log and
benchmark at the mirror of a product under logs/<stage>/ and benchmarks/<stage>/."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import PurePosixPath

import pytest

#: Folders of results/: the pipeline's stages, and the paper stage's figures and tables.
STAGES = {"data", "preprocess", "splits", "train", "evaluate", "figures", "tables"}


def _jobs(root, *args: str) -> list[dict[str, object]]:
    """Every job of a forced dry run: rule, outputs, log and benchmark."""
    done = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--forceall", "all", *args], cwd=root,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:\n)", done.stdout + done.stderr):
        head = re.match(r"(?:local)?rule (\w+):\n", block)
        if not head or head.group(1) == "all":
            continue
        fields = dict(re.findall(r"^    (output|log|benchmark): (.+)$", block, re.M))
        jobs.append({"rule": head.group(1), "output": fields["output"].split(", "), "log": fields.get("log"),
                     "benchmark": fields.get("benchmark")})
    return jobs


def product_key(path: str) -> str:
    """``results/<stage>/x/y.csv`` -> ``<stage>/x/y.csv``; inputs ``resources/x`` belong to the data stage."""
    if path.startswith("results/"):
        return path.removeprefix("results/")
    assert path.startswith("resources/"), f"{path} is neither a product (results/) nor an input (resources/)"
    return "data/" + path.removeprefix("resources/")


def mirrors(record: str, outputs: list[str], root: str, suffix: str) -> bool:
    """Whether ``record`` (a log or benchmark) is ``<root>/<product key without its suffix><suffix>`` for an
    output, or names a folder holding outputs (``logs/train/<run>.log`` for ``results/train/<run>/…``)."""
    stem = record.removeprefix(f"{root}/").removesuffix(suffix)
    keys = [product_key(path) for path in outputs]
    return any(str(PurePosixPath(key).with_suffix("")).removesuffix(".nii") == stem or key.startswith(f"{stem}/")
               for key in keys)


@pytest.fixture(scope="module", params=["config/config.yaml", "config/paper.yaml"])
def jobs(root, request):
    return _jobs(root, "--configfile", request.param)


def test_every_product_sits_under_its_stage(jobs):
    for job in jobs:
        for path in job["output"]:
            if path.startswith("results/"):
                assert path.split("/")[1] in STAGES, f"rule {job['rule']}: {path}"


def test_every_log_and_benchmark_mirrors_a_product(jobs):
    assert jobs
    for job in jobs:
        assert job["log"], f"rule {job['rule']} has no log"
        assert job["log"].startswith("logs/") and mirrors(job["log"], job["output"], "logs", ".log"), (
            job["rule"],
            job["log"],
        )
        if job["benchmark"]:
            assert job["benchmark"] == "benchmarks/" + job["log"].removeprefix("logs/").removesuffix(".log") + ".tsv"


def test_the_mirror_rule_rejects_a_stray_log():
    assert mirrors("logs/train/unet-a.log", ["results/train/unet-a/model.pt"], "logs", ".log")
    assert not mirrors("logs/figures/unet-a.log", ["results/train/unet-a/model.pt"], "logs", ".log")
    assert not mirrors("logs/paper/fig4.log", ["results/figures/fig4.pdf"], "logs", ".log")
