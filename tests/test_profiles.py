"""The slurm/ profile as Snakemake reads it (no SLURM needed; tests/test_slurm.py runs it on one)."""

import re
from pathlib import Path

import pytest
import yaml
from snakemake.cli import get_profile_dir, parse_args

GPU_RULES = ("train", "train_first", "train_long", "evaluate", "evaluate_first")


def _with_variables(read_profile, root: Path, folder: Path, **variables: str) -> dict:
    """The profile as parsed after setting its cluster variables (the block at its top)."""
    text = yaml.safe_load((root / "slurm" / "config.yaml").read_text())
    text["__variables__"].update(variables)
    (folder / "config.yaml").write_text(yaml.safe_dump(text, sort_keys=False))
    return read_profile(folder / "config.yaml")


def _workflow_rules(root: Path) -> dict[str, str | None]:
    """Every rule of the workflow: {name: the rule it is derived from with `use rule`, or None}; rules named
    in a loop (`name: f"adapt_{name}"`) once per real dataset of config/paper.yaml."""
    text = "".join(path.read_text() for path in sorted((root / "workflow").rglob("*.smk")))
    text += (root / "workflow" / "Snakefile").read_text()
    rules = {name: None for name in re.findall(r"^\s*rule (\w+):", text, flags=re.MULTILINE)}  # in `if` blocks too
    rules.update({new: old for old, new in re.findall(r"^\s*use rule (\w+) as (\w+)", text, flags=re.MULTILINE)})
    datasets = yaml.safe_load((root / "config" / "paper.yaml").read_text()).get("datasets", [])
    for prefix in re.findall(r'name:\s*f"(\w+)\{name\}"', text):
        rules.update({prefix + dataset["name"]: None for dataset in datasets})
    return rules


@pytest.fixture
def profile(root, read_profile) -> dict:
    return read_profile(root / "slurm" / "config.yaml")


def test_snakemake_finds_the_profile_in_the_repository_root(root, monkeypatch):
    monkeypatch.chdir(root)
    folder, config = get_profile_dir("slurm")
    assert (folder.resolve(), config.resolve()) == (root / "slurm", root / "slurm" / "config.yaml")


def test_profile_runs_the_paper_config_on_slurm(root, profile):
    assert profile["executor"] == "slurm"
    assert profile["configfile"] == "config/paper.yaml" and (root / profile["configfile"]).is_file()
    assert int(profile["retries"]) >= 1
    assert profile["rerun-incomplete"] == "True" and profile["slurm-requeue"] == "True"
    assert profile["slurm-delete-logfiles-older-than"] == "0"  # the logs of failed jobs are never deleted
    assert "slurm-keep-successful-logs" not in profile and "slurm-status-command" not in profile


def test_gpu_rules_ask_for_one_gpu_and_nothing_else(profile, profile_resources):
    resources = profile_resources(profile)
    for rule in GPU_RULES:
        assert resources[rule]["gpu"] == "1", rule
        assert int(resources[rule]["mem_mb"]) >= 16000 and int(resources[rule]["runtime"]) >= 240, rule
        assert "constraint" not in resources[rule], f"{rule}: an empty constraint would reach sbatch as -C ''"
    # the pinned plugin adds --ntasks-per-gpu only when a rule sets tasks or tasks_per_gpu
    assert not any(name in ("tasks", "tasks_per_gpu") for rule in resources.values() for name in rule)
    assert "gpu" not in resources[None] and "gpu" not in resources["preprocess_subject"]


def test_profile_names_only_rules_of_the_workflow(root, profile):
    rules = _workflow_rules(root)
    named = {entry.split(":")[0] for entry in profile["set-resources"]}
    named |= {entry.split("=")[0] for entry in profile["set-threads"]}
    assert named <= set(rules), named - set(rules)
    assert set(GPU_RULES) <= set(rules)


def test_a_rule_derived_with_use_rule_gets_the_same_resources(root, profile, profile_resources):
    resources = profile_resources(profile)
    threads = dict(entry.split("=") for entry in profile["set-threads"])
    for new, old in _workflow_rules(root).items():
        if old is not None:
            assert resources.get(new) == resources.get(old) and threads.get(new) == threads.get(old), new


def test_partition_and_account_are_set_in_one_place(root, tmp_path, profile, profile_resources, read_profile):
    resources = profile_resources(profile)
    assert {rule.get("slurm_partition") for rule in resources.values()} <= {"", None}  # the cluster's default
    assert resources[None]["slurm_account"] == ""
    cluster = profile_resources(_with_variables(read_profile, root, tmp_path, partition="cpu", account="lab",
                                                gpu_model="a100", gpu_constraint="a100|h100"))
    assert cluster[None]["slurm_partition"] == "cpu" and cluster[None]["slurm_account"] == "lab"
    for rule in GPU_RULES:
        assert cluster[rule]["slurm_partition"] == "cpu"  # gpu_partition "" = the same partition
        assert (cluster[rule]["gpu_model"], cluster[rule]["constraint"]) == ("a100", "a100|h100")
    separate = profile_resources(_with_variables(read_profile, root, tmp_path, partition="cpu", gpu_partition="gpu"))
    assert separate[None]["slurm_partition"] == "cpu" and "slurm_partition" not in separate["preprocess_subject"]
    assert {separate[rule]["slurm_partition"] for rule in GPU_RULES} == {"gpu"}


def test_a_run_without_profile_stays_local(root, monkeypatch, read_profile):
    """No workflow profile (which Snakemake would load on its own) selects SLURM."""
    monkeypatch.chdir(root)
    monkeypatch.delenv("SNAKEMAKE_PROFILE", raising=False)
    candidates = (root / "default", root / "profiles" / "default", root / "workflow" / "profiles" / "default")
    for config in (path for candidate in candidates for path in candidate.glob("*.yaml")):
        assert "slurm" not in read_profile(config).get("executor", ""), config
    _, args = parse_args(["--dry-run", "all"])
    assert args.executor is None and args.profile is None


def test_command_line_configfile_replaces_the_profiles(profile, tmp_path):
    """Command line over profile: `--configfile X` drops the profile's config/paper.yaml (tests/test_slurm.py)."""
    (tmp_path / "config.yaml").write_text(f"configfile: {profile['configfile']}\n")
    _, args = parse_args(["--profile", str(tmp_path), "--configfile", "tests/config/config.yaml"])
    assert args.configfile == [Path("tests/config/config.yaml")]
    _, args = parse_args(["--profile", str(tmp_path)])
    assert args.configfile == [Path("config/paper.yaml")]
