"""The plan the workflow builds its DAG from: complete, and free of the science stack."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml
from snakemake.utils import update_config

from neuroicl.plan.experiment import Plan

HEAVY = ("torch", "scipy", "nibabel", "numpy", "pandas", "matplotlib", "ants", "torchio")


def _imported(stderr: str) -> set[str]:
    """Top-level packages in a ``python -X importtime`` report."""
    return {match.split(".")[0] for match in re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s+(\S+)", stderr, re.M)}


def test_importing_the_plan_imports_no_science_stack():
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import neuroicl.plan.experiment"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    imported = _imported(done.stderr)
    assert "neuroicl" in imported and not imported & set(HEAVY), sorted(imported & set(HEAVY))


@pytest.mark.parametrize("configfile", ["config/config.yaml", "config/paper.yaml"])
def test_parsing_the_workflow_imports_no_science_stack(root, configfile):
    """A dry run (the DAG of the default or the paper config) never loads torch, scipy or nibabel."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "snakemake", "-n", "-q", "all", "--configfile",
                           configfile], cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    imported = _imported(done.stderr)
    assert "neuroicl" in imported and "snakemake" in imported
    assert not imported & {"torch", "scipy", "nibabel"}, sorted(imported & set(HEAVY))


@pytest.fixture(scope="module")
def default(root) -> Plan:
    return Plan.from_config(yaml.safe_load((root / "config" / "config.yaml").read_text()))


def test_the_default_plan_lists_the_cohort_and_every_run(default):
    assert list(default.datasets) == ["embedded"] and default.embedded == ["embedded"] and default.real == []
    assert default.subjects["embedded"] == [f"sub-{i:03d}" for i in range(1, 13)]
    assert default.n_train == 6 and default.archives == [] and default.released == []
    assert default.runs[0].name == "neuralizer-seen" and default.runs[-1].name == "identity"
    assert "context_mean" not in default.trained and "neuralizer-seen" in default.trained


def test_a_run_reads_only_its_own_model_block(default):
    config = default.run_config("unet-denoising-all")
    assert set(config) == {"tasks", "training", "evaluation", "models", "preprocess", "reference"}
    assert config["preprocess"]["grid"] == default.config["preprocess"]["grid"]  # the model file keeps it
    assert list(config["models"]["hyperparameters"]) == ["unet"] and "runs" not in config["training"]
    assert default.run_config("identity")["models"] == {"hyperparameters": {"identity": {}}}


def test_the_paper_plan_knows_every_file_before_download(root):
    config = yaml.safe_load((root / "config" / "config.yaml").read_text())
    update_config(config, yaml.safe_load((root / "config" / "paper.yaml").read_text()))  # as --configfile does
    plan = Plan.from_config(config)
    assert plan.real == ["ixi", "oasis1", "msd_brain_tumour"] and plan.embedded == []
    assert "neurite_oasis" in plan.archives and len(plan.subjects["ixi"]) == 570
    assert "neuralizer_weights" in plan.archives and plan.released == ["neuralizer-released"]  # fetched, not trained
    assert "neuralizer-released" not in plan.trained + plan.long_runs
    assert set(plan.subject_paths("oasis1", "sub-0001")) == {"T1w", "dseg"}
    with pytest.raises(ValueError, match="runs of this config"):
        plan.run("neuralizer-typo")


def test_the_long_runs_are_neuralizer_metaseg_and_per_class_networks_on_all_subjects(default):
    """They start first (rule train_long); the short jobs fill the cores at the end."""
    assert default.long_runs == [
        name for name in default.trained
        if name.startswith(("neuralizer-", "metaseg-")) or name == "unet-segmentation-all"
    ]
    assert "neuralizer-seen" in default.long_runs and "unet-segmentation-n1" not in default.long_runs
