"""Shared fixtures: the repository root, the tiny test config, and the reference anatomy (built once)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from snakemake.profiles import ProfileConfigFileParser

from neuroicl.data.anatomy import Anatomy, build_anatomy
from neuroicl.data.reference import Reference, load_reference
from neuroicl.plan.cohort import CohortSpec
from neuroicl.plan.reference import resolve_reference
from tests.helpers.toy import toy_pool

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def load_test_config() -> dict:
    """A fresh copy of tests/config/config.yaml (safe to modify)."""
    return copy.deepcopy(yaml.safe_load((ROOT / "tests" / "config" / "config.yaml").read_text()))


@pytest.fixture()
def test_config() -> dict:
    return load_test_config()


@pytest.fixture(scope="session")
def config_loader():
    """The loader itself, for fixtures of wider scope than a test."""
    return load_test_config


@pytest.fixture(scope="session")
def reference() -> Reference:
    return load_reference(resolve_reference({}))


@pytest.fixture(scope="session")
def anatomy(reference: Reference) -> Anatomy:
    return build_anatomy(reference)


@pytest.fixture()
def tiny_spec(test_config: dict) -> CohortSpec:
    """The test cohort: 2 subjects, 2 coarse sites (3 mm)."""
    return CohortSpec.from_config(test_config["cohort"])


@pytest.fixture
def make_pool():
    """``make_pool(name=..., labels=..., subjects=..., slices=..., size=...)`` builds a toy :class:`Pool`
    (6 subjects x 5 slices of 32x32, four modalities, lateral classes 3-6 and 27; :mod:`tests.helpers.toy`)."""
    return toy_pool


@pytest.fixture
def task_config(root):
    """The ``tasks`` block of the default config."""
    return yaml.safe_load((root / "config" / "config.yaml").read_text())["tasks"]


def _read_profile(path: Path) -> dict:
    """A Snakemake profile file as Snakemake parses it (YTE templates rendered)."""
    with open(path) as stream:
        return dict(ProfileConfigFileParser().parse(stream))


def _profile_resources(profile: dict) -> dict[str | None, dict[str, str]]:
    """{rule: resources} from a parsed profile's set-resources, with default-resources under None."""
    defaults = dict(entry.split("=", 1) for entry in profile["default-resources"])
    resources: dict[str | None, dict[str, str]] = {None: defaults}
    for entry in profile["set-resources"]:
        rule, setting = entry.split(":", 1)
        name, value = setting.split("=", 1)
        resources.setdefault(rule, {})[name] = value
    return resources


@pytest.fixture(scope="session")
def read_profile():
    """:func:`_read_profile`: path → the parsed profile (tests/test_profiles.py, tests/test_slurm.py)."""
    return _read_profile


@pytest.fixture(scope="session")
def profile_resources():
    """:func:`_profile_resources`: parsed profile → {rule: resources}."""
    return _profile_resources
