"""envs/*.yaml (for --sdm conda) pin the same packages and versions as pyproject.toml."""

import re
import tomllib

import yaml


def _requirement(line: str) -> tuple[str, str]:
    name, version = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line.strip()).groups()
    return name.lower().replace("_", "-"), version


def _pyproject(root) -> dict[str, str]:
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    return dict(_requirement(line) for line in project["dependencies"])


def _env_packages(path) -> dict[str, str]:
    env = yaml.safe_load(path.read_text())
    pip = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    return dict(_requirement(line) for line in pip)


def test_pyproject_pins_every_dependency_exactly(root):
    assert len(_pyproject(root)) >= 10


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
