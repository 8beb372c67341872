"""Manual entries stop with instructions until the user's files are in place, then validate them."""

import gzip

import nibabel as nib
import numpy as np
import pytest

from neuroicl.datasets.download import fetch
from neuroicl.datasets.errors import ManualDataError
from neuroicl.datasets.manual import validate
from neuroicl.datasets.registry import load_entry


@pytest.fixture(scope="module")
def adni(root):
    return load_entry(root / "resources" / "datasets" / "registry.yaml", "adni")


def _image(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.ones((4, 5, 6), np.int16), np.eye(4)), path)


def _adni_folder(folder):
    _image(
        folder / "ADNI" / "002_S_0295" / "MPRAGE" / "2006-04-18_08_20_30.0" / "I13722" / "ADNI_002_S_0295_MR_MPRAGE.nii"
    )
    (folder / "T1_collection_5_01_2026.csv").write_text("Image Data ID,Subject,Visit\nI13722,002_S_0295,sc\n")
    return folder


def test_a_missing_folder_stops_with_where_to_obtain_and_where_to_place_the_data(adni, tmp_path):
    with pytest.raises(ManualDataError) as error:
        validate(adni, tmp_path / "adni")
    message = str(error.value)
    for part in (
        "data-use agreement",
        "Apply for access",
        "ida.loni.usc.edu",
        str((tmp_path / "adni").resolve()),
        "does not exist",
        adni.homepage,
    ):
        assert part in message


def test_the_message_names_each_missing_pattern(adni, tmp_path):
    folder = tmp_path / "adni"
    folder.mkdir()
    (folder / "collection.csv").write_text("Image Data ID\n")
    with pytest.raises(
        ManualDataError, match=r"'ADNI/\*/\*/\*/\*/\*\.nii' matches 0 file\(s\), at least 1 expected"
    ) as error:
        validate(adni, folder)
    assert "*.csv" not in str(error.value).split("What is missing or wrong:")[1]


def test_placed_files_that_pass_are_returned_also_through_fetch(adni, root, tmp_path):
    folder = _adni_folder(tmp_path / "downloads" / "adni")
    assert validate(adni, folder) == folder
    registry = root / "resources" / "datasets" / "registry.yaml"
    assert fetch("adni", registry, tmp_path / "lock.yaml", tmp_path / "downloads") == folder
    assert not (tmp_path / "lock.yaml").exists()


@pytest.mark.parametrize(
    ("damage", "message"), [(b"", "the file is empty"), (gzip.compress(b"not a nifti")[:20], "not a readable NIfTI")]
)
def test_a_damaged_image_is_named(adni, tmp_path, damage, message):
    folder = _adni_folder(tmp_path / "adni")
    broken = next(folder.rglob("*.nii"))
    broken.write_bytes(damage)
    with pytest.raises(ManualDataError, match=message) as error:
        validate(adni, folder)
    assert str(broken) in str(error.value)


def test_uk_biobank_accepts_unzipped_field_20252_folders(root, tmp_path):
    entry = load_entry(root / "resources" / "datasets" / "registry.yaml", "ukbiobank")
    with pytest.raises(ManualDataError, match="ukbfetch"):
        validate(entry, tmp_path / "ukbiobank")
    _image(tmp_path / "ukbiobank" / "1000017_20252_2_0" / "T1" / "T1.nii.gz")
    assert validate(entry, tmp_path / "ukbiobank") == tmp_path / "ukbiobank"
