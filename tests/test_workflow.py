"""The workflow: lint- and format-clean, and runs end to end on the tiny test config."""

import shutil
import subprocess
import sys

import nibabel as nib
import pandas as pd
import pytest

SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def test_snakemake_lint_is_clean(root):
    run = subprocess.run([*SNAKEMAKE, "--lint"], cwd=root, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Congratulations, your workflow is in a good condition!" in run.stdout + run.stderr


def test_snakefmt_is_clean(root):
    run = subprocess.run(
        [shutil.which("snakefmt") or "snakefmt", "--check", "workflow/"], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.workflow
def test_tiny_cohort_end_to_end(root, tmp_path):
    (tmp_path / "config").mkdir()
    shutil.copy(root / "tests" / "config" / "config.yaml", tmp_path / "config" / "config.yaml")
    run = subprocess.run(
        [*SNAKEMAKE, "-c2", "-s", str(root / "workflow" / "Snakefile"), "-d", str(tmp_path), "all"],
        capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert (tmp_path / "results" / "figures" / "cohort.png").stat().st_size > 10_000
    participants = pd.read_csv(tmp_path / "resources" / "embedded" / "participants.tsv", sep="\t")
    assert list(participants["participant_id"]) == ["sub-001", "sub-002"]
    t1 = nib.load(tmp_path / "resources" / "embedded" / "sub-002" / "anat" / "sub-002_T1w.nii.gz")
    assert "".join(nib.aff2axcodes(t1.affine)) == "LPS"
    agreement = pd.read_csv(tmp_path / "results" / "data" / "atlas_agreement.tsv", sep="\t")
    assert set(agreement["structure"]) == {"brain", "white_matter", "cerebral_cortex"}
    cost = pd.read_csv(tmp_path / "results" / "tables" / "table6_model_cost.csv")
    assert sorted(cost["context_size"].unique()) == [1, 2]
    assert (cost.loc[cost["model"] == "Neuralizer (C=64)", "params_m"] > 1.2).all()
    assert not list(tmp_path.rglob(".*.tmp-*")), "temporary files left behind"
