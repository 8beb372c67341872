"""envs/*.yaml (for --sdm conda) pin the same packages and versions as pyproject.toml, and their
post-deploy step installs the package itself where the jobs run."""

import os
import re
import subprocess
import sys
import tomllib

import pytest
import yaml

PIN = re.compile(r"([A-Za-z0-9_.\-]+)==([^\s;]+)")


def _requirement(line: str) -> tuple[str, str]:
    match = PIN.fullmatch(line.strip())
    assert match, f"{line!r} is not an exact pin (name==version)"
    name, version = match.groups()
    return name.lower().replace("_", "-"), version


def _pyproject(root) -> dict[str, str]:
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    return dict(_requirement(line) for line in project["dependencies"])


def _env_packages(path) -> dict[str, str]:
    env = yaml.safe_load(path.read_text())
    pip = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    return dict(_requirement(line) for line in pip)


def test_pyproject_pins_every_dependency_exactly(root):
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    lines = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    loose = [line for line in lines if not PIN.fullmatch(line.strip())]
    assert not loose, f"pyproject.toml: not pinned exactly: {loose}"
    assert {"torch", "snakemake", "jsonschema"} <= set(_pyproject(root))


def test_env_pins_match_pyproject(root):
    pins = _pyproject(root)
    for path in sorted((root / "envs").glob("*.yaml")):
        for name, version in _env_packages(path).items():
            assert pins.get(name) == version, f"{path.name}: {name}=={version}, pyproject has {pins.get(name)}"


def test_envs_together_cover_every_runtime_dependency(root):
    covered = set().union(*(_env_packages(path) for path in (root / "envs").glob("*.yaml")))
    # snakemake and jsonschema run the workflow itself (the environment snakemake is started from)
    assert set(_pyproject(root)) - covered == {"snakemake", "jsonschema"}


def test_every_conda_directive_names_an_existing_env(root):
    for rules in (root / "workflow" / "rules").glob("*.smk"):
        for env in re.findall(r'conda:\s*\n\s*"([^"]+)"', rules.read_text()):
            assert (rules.parent / env).resolve().is_file(), f"{rules.name}: {env}"


def test_every_env_installs_the_package_in_its_post_deploy_step(root):
    envs = sorted((root / "envs").glob("*.yaml"))
    scripts = [path.with_name(f"{path.stem}.post-deploy.sh") for path in envs]
    shared = root / "envs" / "install-neuroicl.sh"
    assert all(script.resolve() == shared for script in scripts), "a post-deploy step is not envs/install-neuroicl.sh"
    assert os.access(shared, os.X_OK) and "pip install --no-deps --editable" in shared.read_text()


@pytest.fixture(scope="module")
def fresh_env(tmp_path_factory):
    """A new virtual environment that sees the installed dependencies but not the neuroicl package."""
    folder = tmp_path_factory.mktemp("env")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(folder)], check=True, timeout=120)
    return folder


def test_the_post_deploy_step_makes_the_package_importable_from_the_repository(root, fresh_env):
    env = {**os.environ, "PATH": f"{fresh_env / 'bin'}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(fresh_env)}
    done = subprocess.run(["bash", str(root / "envs" / "train.post-deploy.sh")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    where = subprocess.run(
        [str(fresh_env / "bin" / "python"), "-c", "import neuroicl.plan; print(neuroicl.plan.__file__)"],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert where.returncode == 0 and where.stdout.startswith(str(root / "src" / "neuroicl")), (
        where.stdout + where.stderr
    )


def test_the_post_deploy_step_outside_the_repository_names_the_fix(root, tmp_path):
    done = subprocess.run(
        ["bash", str(root / "envs" / "data.post-deploy.sh")], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1 and "start Snakemake from the repository root" in done.stderr
