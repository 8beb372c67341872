from pathlib import Path

import pytest

from neuroicl.data.reference import agreement
from neuroicl.plan.reference import REFERENCE_KEYS, builtin_path, resolve_reference


def test_builtin_files_ship_in_packages():
    for key in REFERENCE_KEYS:
        path = builtin_path(key)
        assert path.is_file(), key
        assert "site-packages" in path.parts or "dist-packages" in path.parts


def test_reference_loads_offline_on_the_template_grid(reference):
    assert reference.dseg.shape == reference.t1.shape == (197, 233, 189)
    assert reference.brain.sum() > 1_000_000  # ~1.7 l at 1 mm


def test_atlas_agrees_with_template(reference):
    dice = agreement(reference).set_index("structure")["dice"]
    assert dice["brain"] > 0.9
    assert dice["white_matter"] > 0.7
    assert dice["cerebral_cortex"] > 0.6


def test_missing_reference_file_names_the_config_key(tmp_path: Path):
    missing = tmp_path / "nope.nii.gz"
    with pytest.raises(FileNotFoundError, match=r"reference\.atlas .*nope\.nii\.gz"):
        resolve_reference({"atlas": str(missing)})


def test_unknown_reference_key_is_an_error():
    with pytest.raises(ValueError, match="unknown reference key"):
        builtin_path("template_t3")
