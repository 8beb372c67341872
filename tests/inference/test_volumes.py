"""Reading and checking predict's input files, the inverse mapping, the atomic write."""

import nibabel as nib
import numpy as np
import pytest

from neuroicl.inference import volumes
from neuroicl.inference.volumes import read_input, read_mask, read_pairs, to_native, write_like
from neuroicl.preprocess.grid import ModelGrid, resample
from neuroicl.preprocess.inputs import InputError

LPS = np.diag([-3.0, -3.0, 3.0, 1.0])


def _save(path, data, affine=LPS):
    nib.save(nib.Nifti1Image(np.asarray(data), affine), path)
    return str(path)


def _blob(shape=(20, 22, 18)) -> np.ndarray:
    grid = np.indices(shape).astype(float)
    centre = (np.asarray(shape) - 1)[:, None, None, None] / 2
    return (np.sqrt(((grid - centre) ** 2).sum(0)) < 6).astype(np.float32)


def test_an_unreadable_file_is_named(tmp_path):
    bad = tmp_path / "broken.nii.gz"
    bad.write_bytes(b"not a nifti")
    with pytest.raises(InputError, match="broken.nii.gz"):
        read_input(bad, "target 1")


def test_a_4d_file_is_named(tmp_path):
    path = _save(tmp_path / "four.nii.gz", np.ones((4, 4, 4, 2), np.float32))
    with pytest.raises(InputError, match="four.nii.gz.*3D"):
        read_input(path, "target 1")


def test_an_empty_mask_is_named(tmp_path):
    path = _save(tmp_path / "empty_mask.nii.gz", np.zeros((5, 5, 5), np.uint8))
    with pytest.raises(InputError, match="empty_mask.nii.gz is empty"):
        read_mask(path, "context-out 1")


def test_a_label_map_is_not_a_mask(tmp_path):
    path = _save(tmp_path / "dseg.nii.gz", np.arange(125, dtype=np.uint8).reshape(5, 5, 5) % 3)
    with pytest.raises(InputError, match="dseg.nii.gz is not a binary mask"):
        read_mask(path, "context-out 1")


def test_context_counts_must_agree(tmp_path):
    image = _save(tmp_path / "ex1_T1w.nii.gz", _blob() + 1)
    with pytest.raises(InputError, match="--context-in gives 2 file.*--context-out 1.*ex1_T1w.nii.gz"):
        read_pairs([image, image], [image], binary=False)


def test_a_context_pair_on_two_grids_is_named(tmp_path):
    image = _save(tmp_path / "ex1_T1w.nii.gz", _blob() + 1)
    shifted = LPS.copy()
    shifted[:3, 3] = 5.0
    mask = _save(tmp_path / "ex1_mask.nii.gz", _blob().astype(np.uint8), shifted)
    with pytest.raises(InputError, match="context pair 1: .*ex1_mask.nii.gz .*ex1_T1w.nii.gz"):
        read_pairs([image], [mask], binary=True)


def test_a_good_pair_is_read_in_canonical_axes(tmp_path):
    image = _save(tmp_path / "ex1_T1w.nii.gz", _blob() + 1)
    mask = _save(tmp_path / "ex1_mask.nii.gz", _blob().astype(np.uint8))
    (pair,) = read_pairs([image], [mask], binary=True)
    assert pair.output.data.dtype == np.uint8 and "".join(nib.aff2axcodes(pair.image.affine)) == "RAS"
    assert pair.image.file_shape == (20, 22, 18) and np.array_equal(pair.image.file_affine, LPS)


def test_to_native_inverts_the_resampling_onto_the_grid():
    """A mask carried to the grid and back lands where it was, on a rotated, non-RAS native grid."""
    data = _blob((40, 44, 36))
    affine = np.diag([-1.5, -1.5, 1.5, 1.0])
    affine[:3, 3] = (30.0, 33.0, -27.0)
    angle = np.deg2rad(10)
    native_to_mni = np.eye(4)
    native_to_mni[:2, :2] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    native_to_mni[:3, 3] = (4.0, -6.0, 2.0)
    grid = ModelGrid((48, 48, 48), 1.5, (0.0, 0.0, 0.0))
    on_grid = resample(data, affine, native_to_mni, grid, order=1)
    back = to_native(on_grid, grid, native_to_mni, data.shape, affine) > 0.5
    truth = data > 0.5
    assert _dice(back, truth) > 0.97
    assert _dice(to_native(on_grid, grid, np.eye(4), data.shape, affine) > 0.5, truth) < 0.8  # not the identity


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * (a & b).sum() / (a.sum() + b.sum())


def test_the_output_keeps_the_target_header(tmp_path):
    target = _save(tmp_path / "subj_T1w.nii.gz", _blob() + 1)
    write_like(tmp_path / "pred.nii.gz", _blob().astype(np.uint8), target)
    written = nib.load(tmp_path / "pred.nii.gz")
    assert np.array_equal(written.affine, LPS) and written.get_data_dtype() == np.uint8
    assert np.array_equal(np.asarray(written.dataobj), _blob())


def test_a_failed_write_leaves_no_file(tmp_path, monkeypatch):
    target = _save(tmp_path / "subj_T1w.nii.gz", _blob() + 1)

    def half_write(image, path):
        open(path, "wb").write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(volumes.nib, "save", half_write)
    with pytest.raises(OSError, match="disk full"):
        write_like(tmp_path / "pred.nii.gz", _blob().astype(np.uint8), target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["subj_T1w.nii.gz"]
