import gzip

import nibabel as nib
import numpy as np
import pytest

from neuroicl.preprocess.inputs import InputError, read_subject, read_volume


def test_reads_and_reorients_to_canonical(blob, write_image):
    affine = np.diag([-2.0, 2.0, 2.0, 1.0])  # LAS
    path = write_image("las.nii.gz", blob(), affine)
    image = read_volume("sub-x", path)
    assert nib.aff2axcodes(image.affine) == ("R", "A", "S")
    np.testing.assert_allclose(np.asarray(image.dataobj), blob()[::-1], atol=1e-6)


def test_truncated_file_names_subject_and_file(blob, write_image, tmp_path):
    path = write_image("t1.nii.gz", blob())
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"sub-x: cannot read .*t1\.nii\.gz.*truncated or corrupt"):
        read_volume("sub-x", path)


def test_corrupt_file_names_subject_and_file(tmp_path):
    path = tmp_path / "t1.nii.gz"
    path.write_bytes(gzip.compress(b"not a nifti file at all" * 20))
    with pytest.raises(InputError, match=r"sub-x: cannot read .*t1\.nii\.gz"):
        read_volume("sub-x", str(path))


def test_4d_image_is_an_error(blob, write_image):
    path = write_image("t1.nii.gz", np.stack([blob(), blob()], axis=-1))
    with pytest.raises(InputError, match=r"sub-x: .*t1\.nii\.gz has shape \(20, 24, 18, 2\); a 3D image"):
        read_volume("sub-x", path)


def test_2d_image_is_an_error(blob, write_image):
    path = write_image("t1.nii.gz", blob()[:, :, :1])
    with pytest.raises(InputError, match="2D image"):
        read_volume("sub-x", path)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_voxels_are_an_error(blob, write_image, bad):
    data = blob()
    data[3, 4, 5] = bad
    with pytest.raises(InputError, match="1 NaN/Inf voxels"):
        read_volume("sub-x", write_image("t1.nii.gz", data))


def test_all_zero_image_is_an_error(write_image):
    with pytest.raises(InputError, match="all zero"):
        read_volume("sub-x", write_image("t1.nii.gz", np.zeros((8, 8, 8), np.float32)))


def test_mismatched_modality_shapes_name_both_files(blob, write_image):
    paths = {"T1w": write_image("t1.nii.gz", blob()), "T2w": write_image("t2.nii.gz", blob((20, 24, 16)))}
    with pytest.raises(InputError, match=r"sub-x: .*t2\.nii\.gz has shape \(20, 24, 16\).*t1\.nii\.gz"):
        read_subject("sub-x", paths)


def test_matching_modalities_share_one_affine(blob, write_image):
    paths = {"T1w": write_image("t1.nii.gz", blob()), "T2w": write_image("t2.nii.gz", 2 * blob())}
    subject = read_subject("sub-x", paths)
    assert set(subject.data) == {"T1w", "T2w"} and subject.data["T2w"].shape == (20, 24, 18)
