"""IXI: three modalities on the T1 grid, sites from file names, demographics from IXI.xls."""

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neuroicl.datasets.adapters import adapt
from neuroicl.datasets.adapters.common import Volume
from neuroicl.datasets.adapters.ixi import field_coverage, read_demographics, resample_onto
from neuroicl.datasets.errors import AdapterError
from neuroicl.plan.layout import KINDS, REPORT, subject_paths


@pytest.fixture(scope="module")
def adapted(fabricated, tmp_path_factory):
    out = tmp_path_factory.mktemp("ixi") / "ixi"
    return adapt("ixi", fabricated.sources["ixi"], out, 5), out


def _tsv(path):
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def test_the_first_five_valid_subjects_are_kept_with_site_age_and_sex(adapted):
    _, out = adapted
    participants = _tsv(out / "participants.tsv")
    assert participants.values.tolist() == [
        ["sub-0001", "Guys", "35.80", "F", "IXI002"],
        ["sub-0002", "HH", "38.78", "M", "IXI012"],
        ["sub-0003", "Guys", "n/a", "F", "IXI022"],
        ["sub-0004", "IOP", "37.10", "F", "IXI035"],
        ["sub-0005", "Guys", "n/a", "n/a", "IXI050"],
    ]


def test_the_report_says_why_each_subject_was_skipped(adapted):
    _, out = adapted
    report = _tsv(out / REPORT).set_index("source_id")
    assert report["status"].to_dict() == {
        "IXI002": "kept", "IXI012": "kept", "IXI013": "skipped", "IXI016": "skipped", "IXI019": "skipped",
        "IXI022": "kept", "IXI035": "kept", "IXI040": "skipped", "IXI050": "kept",
    }
    reasons = report["reason"]
    assert "T2" in reasons["IXI013"] and "PD" in reasons["IXI013"] and "not on one grid" in reasons["IXI013"]
    assert reasons["IXI016"].startswith("no PD image")
    assert "cannot read IXI019-Guys-0702-T1.nii.gz" in reasons["IXI019"]
    assert "cover 0% of the T1 field of view" in reasons["IXI040"]
    assert "conflicting age" in reasons["IXI022"] and "no row in the demographics" in reasons["IXI050"]


def test_t1_is_kept_as_is_and_t2_pd_are_resampled_exactly_onto_its_grid(adapted, fabricated):
    _, out = adapted
    paths = subject_paths(str(out), "sub-0001", KINDS["ixi"].modalities, labelled=False)
    t1_source = nib.load(fabricated.sources["ixi"]["ixi_t1"] / "IXI002-Guys-0828-T1.nii.gz")
    t1, t2, pd_ = (nib.load(paths[modality]) for modality in ("T1w", "T2w", "PDw"))
    np.testing.assert_array_equal(t1.get_fdata(), t1_source.get_fdata())
    assert t1.get_data_dtype() == np.int16
    for image in (t1, t2, pd_):
        np.testing.assert_allclose(image.affine, t1_source.affine, atol=1e-5)
        assert image.shape == t1_source.shape
    # the fixture's T2 is linear in world mm, which linear resampling reproduces exactly
    index = np.stack(np.meshgrid(*[np.arange(n) for n in t1.shape], indexing="ij"), axis=-1)
    world = index @ t1.affine[:3, :3].T + t1.affine[:3, 3]
    expected = 100 + world @ np.array([2.0, 3.0, 5.0])
    np.testing.assert_allclose(t2.get_fdata(), expected, atol=1e-3)
    np.testing.assert_allclose(pd_.get_fdata(), 2 * expected + 10, atol=1e-3)


def test_too_few_valid_subjects_is_an_error_that_writes_nothing(fabricated, tmp_path):
    with pytest.raises(AdapterError, match=r"ixi: only 5 valid subjects found, 6 requested \(4 skipped — IXI013"):
        adapt("ixi", fabricated.sources["ixi"], tmp_path / "ixi", 6)
    assert list(tmp_path.iterdir()) == []


def test_a_csv_export_of_the_spreadsheet_gives_the_same_demographics(fabricated, tmp_path):
    spreadsheet = fabricated.sources["ixi"]["ixi_demographics"]
    csv = tmp_path / "IXI.csv"
    pd.read_excel(spreadsheet, sheet_name="Table", engine="calamine").to_csv(csv, index=False)
    from_xls, from_csv = read_demographics(spreadsheet), read_demographics(csv)
    assert {k: (v.age, v.sex) for k, v in from_csv.items()} == {k: (v.age, v.sex) for k, v in from_xls.items()}
    assert (from_xls["IXI002"].age, from_xls["IXI002"].sex) == (35.8, "F")


def test_a_spreadsheet_without_the_ixi_columns_names_the_file_and_the_columns(tmp_path):
    path = tmp_path / "IXI.csv"
    path.write_text("ID,SEX,AGE\n2,1,30\n")
    with pytest.raises(
        AdapterError, match=r"IXI.csv: the IXI demographics need columns IXI_ID.*found \['ID', 'SEX', 'AGE'\]"
    ):
        read_demographics(path)


def test_an_archive_folder_without_ixi_files_is_an_error(fabricated, tmp_path):
    sources = {**fabricated.sources["ixi"], "ixi_pd": tmp_path}
    with pytest.raises(AdapterError, match="no IXI\\*-PD.nii.gz files under .*registry entry ixi_pd"):
        adapt("ixi", sources, tmp_path / "out", 1)


def test_resampling_onto_the_same_grid_changes_nothing_and_coverage_is_a_fraction():
    data = np.arange(60, dtype=np.int16).reshape(3, 4, 5)
    volume = Volume(data, np.diag([2.0, 2.0, 2.0, 1.0]))
    np.testing.assert_array_equal(resample_onto(volume, volume).data, data)
    assert field_coverage(volume, volume) == 1.0
    shifted = Volume(
        data, volume.affine + np.pad(np.full((3, 1), 3.0), ((0, 1), (3, 0)))
    )  # 3 mm = 1.5 voxels along every axis
    assert 0.0 < field_coverage(shifted, volume) < 1.0
