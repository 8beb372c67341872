import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest
import torch
import yaml

from neuroicl.data.cohort import render_subject, sample_participants, sample_subject
from neuroicl.plan.cohort import CohortSpec
from neuroicl.preprocess import deepbet_strip
from neuroicl.preprocess.deepbet_strip import as_volume, deepbet_mask, weight_paths

# Measured: Dice 0.966 on this subject (3 x 3 x 4 mm, LPS), 0.965 on the other test subject (3 mm, RAS),
# 0.96–0.97 on the 24-subject embedded cohort (bench/skullstrip_deepbet.py). Margin 0.025.
MIN_DICE = 0.94


@pytest.fixture(scope="module")
def subject(root, anatomy):
    """Subject 2 of the tiny test cohort: siteB, LPS, 3 x 3 x 4 mm voxels — a non-canonical, coarse grid."""
    config = yaml.safe_load((root / "tests" / "config" / "config.yaml").read_text())
    spec = CohortSpec.from_config(config["cohort"])
    params = sample_subject(spec, sample_participants(spec).iloc[1].to_dict(), anatomy)
    assert params.site.orientation == "LPS"
    return render_subject(params, spec, anatomy)


@pytest.fixture(scope="module")
def mask(subject):
    return deepbet_mask(subject.images["T1w"], subject.affine, threads=2)


def test_mask_is_boolean_on_the_input_grid(subject, mask):
    assert mask.dtype == bool and mask.shape == subject.images["T1w"].shape


def test_mask_matches_the_true_brain(subject, mask):
    dice = 2 * (mask & subject.brain).sum() / (mask.sum() + subject.brain.sum())
    assert dice > MIN_DICE


def test_canonical_input_gives_the_same_mask_deterministically_and_leaves_global_state_alone(subject, mask):
    native = nib.Nifti1Image(subject.images["T1w"], subject.affine)
    canonical = nib.as_closest_canonical(native)
    assert nib.aff2axcodes(canonical.affine) != nib.aff2axcodes(native.affine)
    expected = np.asarray(nib.as_closest_canonical(nib.Nifti1Image(mask.astype(np.uint8), subject.affine)).dataobj) > 0
    np.random.seed(7)
    torch.manual_seed(7)
    numpy_state, torch_state, threads = (
        np.random.get_state()[1].copy(),
        torch.get_rng_state().clone(),
        torch.get_num_threads(),
    )
    torch.set_num_threads(1)
    try:
        again = deepbet_mask(canonical, threads=2)  # the fixture's thread count: bitwise-equal output
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
    assert np.array_equal(again, expected)
    assert (np.random.get_state()[1] == numpy_state).all() and torch.equal(torch.get_rng_state(), torch_state)


@pytest.mark.parametrize(
    ("data", "affine", "keywords", "match"),
    [
        (np.ones((8, 8, 8, 2), np.float32), np.eye(4), {}, "3D volume"),
        (np.full((8, 8, 8), np.nan, np.float32), np.eye(4), {}, "NaN"),
        (np.ones((8, 8, 8), np.float32), np.eye(4), {}, "constant"),
        (np.arange(512, dtype=np.float32).reshape(8, 8, 8), np.zeros((4, 4)), {}, "affine"),
        (np.arange(512, dtype=np.float32).reshape(8, 8, 8), np.eye(4), {"threads": 0}, "threads"),
        (np.arange(512, dtype=np.float32).reshape(8, 8, 8), np.eye(4), {"threshold": 1.5}, "threshold"),
    ],
    ids=["4d", "nan", "constant", "singular-affine", "zero-threads", "threshold-above-1"],
)
def test_bad_input_raises_value_error_naming_it(data, affine, keywords, match):
    with pytest.raises(ValueError, match=match):
        deepbet_mask((data, affine), **keywords)


def test_array_without_affine_raises_type_error():
    with pytest.raises(TypeError, match="nibabel image"):
        deepbet_mask(np.zeros((8, 8, 8)))


def test_image_with_a_second_affine_raises_value_error():
    image = nib.Nifti1Image(np.arange(512, dtype=np.float32).reshape(8, 8, 8), np.eye(4))
    with pytest.raises(ValueError, match="drop the affine"):
        deepbet_mask(image, np.eye(4))


def test_image_pair_and_array_with_affine_are_the_same_input():
    data, affine = np.arange(512, dtype=np.int16).reshape(8, 8, 8), np.diag([2.0, -2.0, 3.0, 1.0])
    forms = [as_volume((data, affine)), as_volume(data, affine), as_volume(nib.Nifti1Image(data, affine))]
    for got_data, got_affine in forms:
        assert got_data.dtype == np.float32 and np.array_equal(got_data, data) and np.array_equal(got_affine, affine)


@pytest.fixture()
def fresh_weight_check():
    weight_paths.cache_clear()
    yield
    weight_paths.cache_clear()


def test_missing_weight_file_names_it_and_the_reinstall(monkeypatch, tmp_path, fresh_weight_check):
    monkeypatch.setattr(sys.modules["deepbet.utils"], "DATA_PATH", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="model.pt is missing; reinstall"):
        weight_paths()


def test_weight_file_of_another_release_is_refused(monkeypatch, tmp_path, fresh_weight_check):
    (tmp_path / "models").mkdir()
    for name in deepbet_strip.WEIGHT_SHA256:
        (tmp_path / "models" / f"{name}.pt").write_bytes(b"not the 1.0.2 weights")
    monkeypatch.setattr(sys.modules["deepbet.utils"], "DATA_PATH", str(tmp_path))
    with pytest.raises(ValueError, match="sha256"):
        weight_paths()


def test_missing_deepbet_says_how_to_install_it(monkeypatch, fresh_weight_check):
    monkeypatch.setitem(sys.modules, "deepbet", None)
    with pytest.raises(ImportError, match="pip install deepbet==1.0.2"):
        weight_paths()


def test_importing_the_module_does_not_import_deepbet():
    code = "import sys, neuroicl.preprocess.deepbet_strip; assert 'deepbet' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
