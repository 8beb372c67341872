"""OASIS (neurite release): the raw T1w and its label map in the project's label ids."""

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neuroicl.data.labels import BY_NAME, HEAD_MIN
from neuroicl.datasets.adapters import adapt
from neuroicl.datasets.adapters.oasis import label_lookup, project_label, read_colour_table
from neuroicl.datasets.errors import AdapterError
from neuroicl.plan.layout import REPORT, subject_paths

EVALUATION_CLASSES = ("Cerebral-Cortex", "Lateral-Ventricle", "Thalamus", "Hippocampus")


@pytest.fixture(scope="module")
def adapted(fabricated, tmp_path_factory):
    out = tmp_path_factory.mktemp("oasis") / "oasis1"
    return adapt("oasis1", fabricated.sources["oasis1"], out, 3), out


def test_valid_subjects_are_kept_in_order_and_the_others_skipped_with_reasons(adapted):
    result, out = adapted
    assert result.kept == (("sub-0001", "OAS1_0001_MR1"), ("sub-0002", "OAS1_0005_MR1"), ("sub-0003", "OAS1_0010_MR1"))
    reasons = dict(result.skipped)
    assert reasons["OAS1_0002_MR1"] == "no seg35.nii.gz in OASIS_OAS1_0002_MR1"
    assert reasons["OAS1_0003_MR1"] == "seg35.nii.gz has values [40] that seg35_labels.txt does not define"
    assert "not on one grid" in reasons["OAS1_0004_MR1"] and "origin" in reasons["OAS1_0004_MR1"]
    report = pd.read_csv(out / REPORT, sep="\t", dtype=str, keep_default_na=False)
    assert report["status"].tolist() == ["kept", "skipped", "skipped", "skipped", "kept", "kept"]
    participants = pd.read_csv(out / "participants.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert participants[["site", "age", "sex"]].drop_duplicates().values.tolist() == [["WashU", "n/a", "n/a"]]


def test_the_image_is_the_raw_t1w_and_the_labels_use_project_ids(adapted, fabricated):
    _, out = adapted
    source = fabricated.sources["oasis1"]["neurite_oasis"] / "OASIS_OAS1_0001_MR1"
    paths = subject_paths(str(out), "sub-0001", ("T1w",), labelled=True)
    image, dseg = nib.load(paths["T1w"]), nib.load(paths["dseg"])
    np.testing.assert_array_equal(image.get_fdata(), nib.load(source / "orig.nii.gz").get_fdata())
    np.testing.assert_array_equal(dseg.affine, nib.load(source / "seg35.nii.gz").affine)
    seg = np.asarray(nib.load(source / "seg35.nii.gz").dataobj)
    labels = np.asarray(dseg.dataobj)
    assert dseg.get_data_dtype() == np.uint8 and labels.max() < HEAD_MIN
    table = read_colour_table(fabricated.sources["oasis1"]["neurite_oasis"] / "seg35_labels.txt")
    by_name = {name: index for index, name in table.items()}
    for side in ("Left", "Right"):
        for name in EVALUATION_CLASSES:
            assert set(labels[seg == by_name[f"{side}-{name}"]]) == {BY_NAME[f"{side}-{name}"].index}
        assert set(labels[seg == by_name[f"{side}-Inf-Lat-Vent"]]) == {BY_NAME[f"{side}-Lateral-Ventricle"].index}
    assert set(labels[seg == 0]) == {0}


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("Left-Cerebral-Cortex", "Left-Cerebral-Cortex"),
        ("Right-Lateral-Ventricle", "Right-Lateral-Ventricle"),
        ("Left-Thalamus-Proper", "Left-Thalamus"),
        ("Right-Thalamus", "Right-Thalamus"),
        ("Left-Hippocampus", "Left-Hippocampus"),
        ("Right-Accumbens-area", "Right-Accumbens"),
        ("Left-VentralDC", "Left-Ventral-DC"),
        ("Right-vessel", "Right-Cerebral-White-Matter"),
        ("Left-choroid-plexus", "Left-Lateral-Ventricle"),
        ("Brain-Stem", "Brain-Stem"),
        ("3rd-Ventricle", "3rd-Ventricle"),
        ("CSF", "CSF"),
    ],
)
def test_freesurfer_names_map_to_project_labels(name, label):
    assert project_label(name) == BY_NAME[label].index


def test_background_is_zero_and_an_unmapped_structure_stops_the_adapter():
    assert project_label("Unknown") == 0
    with pytest.raises(AdapterError, match="'Left-Lesion'.*FREESURFER_TO_PROJECT"):
        project_label("Left-Lesion")
    with pytest.raises(AdapterError, match="'Thalamus'"):  # a lateral class without its side
        project_label("Thalamus")


def test_every_one_of_the_35_classes_maps(fabricated):
    lut = label_lookup(read_colour_table(fabricated.sources["oasis1"]["neurite_oasis"] / "seg35_labels.txt"))
    assert lut.size == 36 and lut[0] == 0 and (lut[1:] > 0).all() and (lut < HEAD_MIN).all()


def test_a_malformed_colour_table_names_the_line(copy_tree, fabricated, tmp_path):
    root = copy_tree(fabricated.sources["oasis1"]["neurite_oasis"])
    (root / "seg35_labels.txt").write_text("0 Unknown 0 0 0 0\nLeft-Cortex 3\n")
    with pytest.raises(AdapterError, match="seg35_labels.txt line 2 is not 'id name r g b a'"):
        adapt("oasis1", {"neurite_oasis": root}, tmp_path / "out", 1)
    assert not (tmp_path / "out").exists()
