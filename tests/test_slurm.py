"""The slurm/ profile on a real single-node SLURM: jobs are submitted with sbatch and really run.

The module installs Debian's SLURM and munge when they are missing (apt-get, as root), starts munged,
slurmctld and slurmd on this machine with tests/slurm/slurm.conf, and runs Snakemake through the
profile. What this SLURM lacks is replaced, never the profile: it has no accounting, so the status
command is ``squeue``; its node advertises the CPUs, memory and GPUs the profile asks for (the GPUs
are plain files: the tiny config trains on the CPU). The plugin is installed from slurm/requirements.txt
into a folder of this module's own. Skips, with the reason, where it cannot install (not root, no
apt-get, no network). docs/slurm.md describes the profile.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.workflow

SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# The default place: inside a job the plugin's `srun` runs without SLURM_* variables (SLURM_CONF too).
SLURM_CONF = Path("/etc/slurm/slurm.conf")
GRES_CONF = Path("/etc/slurm/gres.conf")
MARKER = "# neuroicl test cluster"
GPUS = 4
# squeue: no accounting here (the one override besides --configfile that this cluster needs)
STATUS = ("--slurm-status-command", "squeue")
# Neuralizer-seen's chain (data → preprocessing → train_first → evaluate_first) and the identity
# reference (evaluate): both GPU rules, about 14 jobs.
TARGETS = ("results/evaluate/neuralizer-seen/metrics.csv", "results/evaluate/identity/metrics.csv")


def _run(command: list[str], timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    env = kwargs.pop("env", {**os.environ, "PATH": SBIN_PATH})
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, **kwargs)


def _install_slurm() -> str | None:
    """Installs slurm-wlm and munge unless present; the reason it could not, or None."""
    needed = ("slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "munged")
    if all(shutil.which(name, path=SBIN_PATH) for name in needed):
        return None
    if shutil.which("apt-get", path=SBIN_PATH) is None:
        return "SLURM is not installed and there is no apt-get to install it"
    env = {**os.environ, "PATH": SBIN_PATH, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "slurm-wlm", "munge"]
    for command in (["apt-get", "update"], install):
        run = _run(command, timeout=1200, env=env)
        if run.returncode != 0:
            return f"`{' '.join(command)}` failed: {(run.stdout + run.stderr)[-500:]}"
    return None


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _node_size(profile: dict, resources: dict[str | None, dict[str, str]]) -> tuple[int, int]:
    """CPUs and memory (MB) the node declares: enough for any job of the profile."""
    threads = [int(entry.split("=")[1]) for entry in profile.get("set-threads", [])]
    memory = [int(value) for rule in resources.values() for name, value in rule.items()
              if name == "mem_mb"]
    total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return max([os.cpu_count() or 1, *threads]), max([total_mb, *memory])


def _wait_for_file(path: Path, seconds: float = 10) -> None:
    """A daemon writes its pid file after it has forked: wait for it, so that teardown can stop it."""
    deadline = time.monotonic() + seconds
    while not path.is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert path.is_file(), f"{path} did not appear within {seconds} s"


def _start_daemons(state: Path, profile: dict, resources: dict[str | None, dict[str, str]], root: Path) -> None:
    host = socket.gethostname().split(".")[0]
    (state / "munge").mkdir(mode=0o711)
    (state / "ctld").mkdir()
    (state / "slurmd").mkdir()
    (state / "gpus").mkdir()
    for index in range(GPUS):
        (state / "gpus" / f"gpu{index}").touch()
    key = state / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    munge = _run(["munged", "--force", f"--socket={state}/munge/munge.socket", f"--key-file={key}",
                  f"--pid-file={state}/munge/munged.pid", f"--log-file={state}/munge/munged.log",
                  f"--seed-file={state}/munge/munged.seed"])
    assert munge.returncode == 0, munge.stderr
    _wait_for_file(state / "munge" / "munged.pid")
    cpus, memory_mb = _node_size(profile, resources)
    ctld_port, slurmd_port = _free_ports(2)
    template = string.Template((root / "tests" / "slurm" / "slurm.conf").read_text())
    SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
    SLURM_CONF.write_text(template.substitute(host=host, state=state, ctld_port=ctld_port, slurmd_port=slurmd_port,
                                              cpus=cpus, memory_mb=memory_mb, gpus=GPUS))
    GRES_CONF.write_text(f"{MARKER}\nNodeName={host} Name=gpu File={state}/gpus/gpu[0-{GPUS - 1}]\n")
    for daemon in ("slurmctld", "slurmd"):
        started = _run([daemon])
        assert started.returncode == 0, f"{daemon}: {started.stderr}"
        _wait_for_file(state / f"{daemon}.pid")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if _run(["sinfo", "--noheader", "--format=%T"]).stdout.strip() == "idle":
            return
        time.sleep(1)
    logs = "".join((state / name).read_text()[-2000:] for name in ("slurmctld.log", "slurmd.log"))
    raise AssertionError(f"the SLURM node did not come up idle within 60 s:\n{logs}")


def _stop(pid_file: Path) -> None:
    """Stops the daemon this module started (by the process id in its pid file)."""
    if not pid_file.is_file():
        return
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.2)


def _plugin_env(plugin: Path) -> dict[str, str]:
    """The environment for Snakemake: the pinned plugin first on PYTHONPATH, SLURM's commands on PATH."""
    python_path = os.pathsep.join(filter(None, [str(plugin), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PATH": f"{os.environ.get('PATH', '')}:{SBIN_PATH}", "PYTHONPATH": python_path}


@pytest.fixture(scope="module")
def plugin(root, tmp_path_factory) -> Path:
    """A folder holding the pinned executor plugins (slurm/requirements.txt), for PYTHONPATH."""
    folder = tmp_path_factory.mktemp("plugin")
    run = _run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(folder),
                "-r", str(root / "slurm" / "requirements.txt")], timeout=600)
    if run.returncode != 0:
        pytest.skip(f"cannot install the SLURM executor plugin: {run.stderr[-500:]}")
    return folder


@pytest.fixture(scope="module")
def cluster(root, plugin, tmp_path_factory, read_profile, profile_resources) -> Iterator[dict[str, str]]:
    """munged, slurmctld and slurmd on this machine, for this module; stopped and unconfigured after.
    Yields the environment to run Snakemake in."""
    if os.geteuid() != 0:
        pytest.skip("installing and starting SLURM needs root")
    reason = _install_slurm()
    if reason:
        pytest.skip(reason)
    lock = open(Path(tempfile.gettempdir()) / "neuroicl-slurm-test.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)  # one test cluster per machine: a second session waits here
    for path in (SLURM_CONF, GRES_CONF):
        if path.exists() and MARKER not in path.read_text():
            lock.close()
            pytest.skip(f"{path} exists and is not this test's: a real SLURM is configured here, left alone")
    state = tmp_path_factory.mktemp("slurm")
    state.chmod(0o755)
    try:
        profile = read_profile(root / "slurm" / "config.yaml")
        _start_daemons(state, profile, profile_resources(profile), root)
        yield _plugin_env(plugin)
    finally:
        for pid_file in ("slurmd.pid", "slurmctld.pid", "munge/munged.pid"):
            _stop(state / pid_file)
        for path in (SLURM_CONF, GRES_CONF):
            if path.exists() and MARKER in path.read_text():
                path.unlink()
        lock.close()


def test_the_pinned_plugin_reads_every_option_of_the_profile(root, plugin):
    """Snakemake parses the profile with the pinned plugin's options (an unknown option is an error)."""
    code = ("from snakemake.cli import parse_args; import snakemake_executor_plugin_slurm as plugin; "
            "_, args = parse_args(['--profile', 'slurm']); "
            "print(plugin.__file__, args.executor, args.slurm_requeue, args.slurm_logdir)")
    run = _run([sys.executable, "-c", code], cwd=root, env=_plugin_env(plugin))
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == [str(plugin / "snakemake_executor_plugin_slurm" / "__init__.py"), "slurm", "True",
                                  "logs/slurm"]


def _snakemake(cluster: dict[str, str], folder: Path, *args: str) -> subprocess.CompletedProcess:
    return _run([sys.executable, "-m", "snakemake", *args], timeout=900, cwd=folder, env=cluster)


def _slurm_jobs(run: subprocess.CompletedProcess) -> list[dict[str, str]]:
    """The SLURM jobs of one Snakemake run (job name = the plugin's run ID), oldest first."""
    run_id = re.search(r"SLURM run ID: (\S+)", run.stderr).group(1)
    lines = _run(["scontrol", "show", "jobs", "--oneliner"]).stdout.splitlines()
    jobs = [dict(re.findall(r"(\S+?)=(\S*)", line)) for line in lines]
    return sorted((job for job in jobs if job.get("JobName") == run_id), key=lambda job: int(job["JobId"]))


def _rule(job: dict[str, str]) -> str:
    return job["Comment"].removeprefix("rule_").split("_wildcards_")[0]


def _slurm_minutes(limit: str) -> int:
    days, _, clock = limit.rpartition("-")
    hours, minutes, _ = (int(part) for part in clock.split(":"))
    return int(days or 0) * 1440 + hours * 60 + minutes


def _megabytes(memory: str) -> float:
    return float(memory[:-1]) * {"M": 1, "G": 1024, "T": 1024**2}[memory[-1]]


@pytest.fixture(scope="module")
def workflow_run(root, cluster, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """`snakemake --profile slurm` from the root of a copy of the repository, on the tiny test config."""
    folder = tmp_path_factory.mktemp("repo")
    for name in ("workflow", "src", "envs", "slurm"):
        shutil.copytree(root / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "config").mkdir()
    shutil.copy(root / "tests" / "config" / "config.yaml", folder / "config" / "config.yaml")
    # --configfile replaces the profile's config/paper.yaml (command line over profile), so the
    # Snakefile's config/config.yaml — the tiny test config here — is the whole config.
    run = _snakemake(cluster, folder, "--profile", "slurm", "--configfile", "config/config.yaml", *STATUS, *TARGETS)
    assert run.returncode == 0, run.stderr[-5000:]
    return folder, run


def test_the_workflow_runs_through_the_profile(workflow_run):
    folder, run = workflow_run
    assert "Using profile slurm for setting default command line arguments." in run.stderr
    for target in TARGETS:
        assert (folder / target).stat().st_size > 100
    assert (folder / "results" / "train" / "neuralizer-seen" / "model.pt").is_file()


def test_every_job_went_through_sbatch(workflow_run):
    folder, run = workflow_run
    jobs = _slurm_jobs(run)
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", run.stderr)
    assert sorted(job["JobId"] for job in jobs) == sorted(submitted)
    assert {job["JobState"] for job in jobs} == {"COMPLETED"}
    rules = {_rule(job) for job in jobs}
    assert {"synth_subject", "preprocess_subject", "slice_store", "train_first", "evaluate_first", "evaluate"} <= rules
    assert "neuralizer-seen" in (folder / "logs" / "train" / "neuralizer-seen.log").read_text()
    # a successful job's SLURM log is removed (a failed one's is kept: see the retries test)
    assert not list((folder / "logs" / "slurm").rglob("*.log"))


def test_jobs_get_the_profiles_resources(root, workflow_run, read_profile, profile_resources):
    """Each job's SLURM allocation is what the profile sets for its rule (or its defaults)."""
    _, run = workflow_run
    profile = read_profile(root / "slurm" / "config.yaml")
    resources = profile_resources(profile)
    threads = dict(entry.split("=") for entry in profile["set-threads"])
    for job in _slurm_jobs(run):
        rule = _rule(job)
        expected = {**resources[None], **resources.get(rule, {})}
        assert _slurm_minutes(job["TimeLimit"]) == int(expected["runtime"]), (rule, job["TimeLimit"])
        assert _megabytes(job["MinMemoryNode"]) == int(expected["mem_mb"]), (rule, job["MinMemoryNode"])
        assert job["Partition"] == "debug"  # the empty placeholder: the cluster's default partition
        assert job["Requeue"] == "1"  # slurm-requeue (this cluster's default is off)
        if "gpu" in expected:
            assert job.get("TresPerJob") == f"gres:gpu:{expected['gpu']}", rule
            assert "NtasksPerTRES" not in job, f"{rule}: --ntasks-per-gpu was not asked for"
        else:
            assert "TresPerJob" not in job, rule
        if rule in threads:
            assert job["NumCPUs"] == threads[rule], rule
    gpu_jobs = {_rule(job) for job in _slurm_jobs(run) if "TresPerJob" in job}
    assert {"train_first", "evaluate_first", "evaluate"} <= gpu_jobs


def test_retries_resubmit_a_failed_job(root, cluster, tmp_path):
    """tests/slurm/Snakefile fails on its first attempt: the profile's `retries` submits it again."""
    shutil.copy(root / "tests" / "slurm" / "Snakefile", tmp_path / "Snakefile")
    (tmp_path / "no_config.yaml").write_text("{}\n")  # in place of the profile's config/paper.yaml
    run = _snakemake(cluster, tmp_path, "--profile", str(root / "slurm"), "--configfile", "no_config.yaml", *STATUS)
    assert run.returncode == 0, run.stderr[-5000:]
    assert (tmp_path / "flaky.txt").read_text() == "2\n"
    first, second = _slurm_jobs(run)
    assert (_rule(first), first["JobState"]) == ("flaky", "FAILED")
    assert (_rule(second), second["JobState"]) == ("flaky", "COMPLETED")
    logs = tmp_path / "logs" / "slurm" / "rule_flaky"
    assert sorted(path.name for path in logs.glob("*.log")) == [f"{first['JobId']}.log"]  # the failed job's only
    kept = (logs / f"{first['JobId']}.log").read_text()
    assert "attempt_number=1" in kept and "Error in rule flaky" in kept
