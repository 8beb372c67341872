"""A local BIDS folder (kind: bids), generated here: kept and skipped subjects, sessions, label tables, demographics."""

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neuroicl.data.labels import BY_NAME
from neuroicl.datasets.adapters.bids import adapt_bids, project_label
from neuroicl.datasets.adapters.bids_names import NamingError, anat_name, dseg_name
from neuroicl.datasets.errors import AdapterError
from neuroicl.plan.layout import REPORT, subject_paths
from tests.datasets.conftest import T1_AFFINE, T1_SHAPE, T2_AFFINE, T2_SHAPE, save, world_intensity

# the inherited table at the derivative's root; sub-10 has a sidecar that numbers the classes differently
TABLE = {0: "Unknown", 1: "Left-Cerebral-Cortex", 2: "right-hippocampus", 3: "Left-Thalamus-Proper",
         4: "WM-hypointensities"}
SIDECAR = {0: "background", 7: "Left-Cerebral-Cortex", 9: "Right-Lateral-Ventricle"}


def _labels(values: list[int]) -> np.ndarray:
    data = np.zeros(T1_SHAPE, dtype=np.int16)
    for position, value in enumerate(values):
        data[2 + position, 3:8, 3:7] = value
    return data


def _image(path: Path, affine=T1_AFFINE, shape=T1_SHAPE) -> None:
    save(path, world_intensity(affine, shape).astype(np.float32), affine)


def _tsv(path: Path, rows: dict[int, str]) -> None:
    pd.DataFrame({"index": list(rows), "name": list(rows.values())}).to_csv(path, sep="\t", index=False)


def make_bids(root: Path) -> Path:
    """sub-01 kept (FLAIR on another grid), sub-02 kept from ses-2 (ses-1 lacks FLAIR), sub-03 no FLAIR,
    sub-04 unreadable T1w, sub-05 entities out of order, sub-10 kept (not in participants.tsv, own table)."""
    (root / "derivatives" / "seg").mkdir(parents=True)
    (root / "dataset_description.json").write_text(json.dumps({"Name": "mystudy", "BIDSVersion": "1.9.0"}))
    pd.DataFrame({"participant_id": ["sub-01", "sub-02", "sub-03", "sub-04", "sub-05"],
                  "site": ["Leeds", "York", "York", "n/a", "Leeds"], "age": ["34.5", "n/a", "50", "61", "x"],
                  "sex": ["F", "male", "M", "F", "F"]}).to_csv(root / "participants.tsv", sep="\t", index=False)
    derivative = root / "derivatives" / "seg"
    (derivative / "dataset_description.json").write_text(json.dumps({"Name": "seg", "DatasetType": "derivative"}))
    _tsv(derivative / "desc-aseg_dseg.tsv", TABLE)
    for subject, session in [("01", None), ("02", "1"), ("02", "2"), ("03", None), ("04", None), ("10", None)]:
        folder = Path(f"sub-{subject}") / (f"ses-{session}" if session else "") / "anat"
        stem = f"sub-{subject}" + (f"_ses-{session}" if session else "")
        _image(root / folder / f"{stem}_T1w.nii.gz")
        if subject not in ("03",) and (subject, session) != ("02", "1"):
            _image(root / folder / f"{stem}_FLAIR.nii.gz", T2_AFFINE, T2_SHAPE)
        values = [0, 7, 9] if subject == "10" else [0, 1, 2, 3, 4]
        save(derivative / folder / f"{stem}_desc-aseg_dseg.nii.gz", _labels(values), T1_AFFINE)
    (root / "sub-01" / "anat" / "sub-01_T1w.json").write_text("{}")
    broken = root / "sub-04" / "anat" / "sub-04_T1w.nii.gz"
    broken.write_bytes(broken.read_bytes()[:200])
    _image(root / "sub-05" / "anat" / "sub-05_run-1_acq-fast_T1w.nii.gz")
    _image(root / "sub-05" / "anat" / "sub-05_FLAIR.nii.gz")
    _tsv(derivative / "sub-10" / "anat" / "sub-10_desc-aseg_dseg.tsv", SIDECAR)
    return root


@pytest.fixture(scope="module")
def bids_root(tmp_path_factory) -> Path:
    return make_bids(tmp_path_factory.mktemp("bids") / "mystudy")


@pytest.fixture(scope="module")
def adapted(bids_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("adapted") / "mystudy"
    return adapt_bids(bids_root, out, 3, ["T1w", "FLAIR"], labelled=True), out


def _report(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / REPORT, sep="\t", dtype=str, keep_default_na=False).set_index("source_id")


def test_valid_subjects_are_kept_in_order(adapted):
    result, _ = adapted
    assert result.kept == (("sub-0001", "sub-01"), ("sub-0002", "sub-02"), ("sub-0003", "sub-10"))


def test_skipped_subjects_have_their_reason_in_the_report(adapted):
    _, out = adapted
    report = _report(out)
    assert report["status"].to_dict() == {"sub-01": "kept", "sub-02": "kept", "sub-03": "skipped",
                                          "sub-04": "skipped", "sub-05": "skipped", "sub-10": "kept"}
    assert report.loc["sub-03", "reason"].startswith("no session with every one of T1w, FLAIR")
    assert "sub-03 has T1w, dseg" in report.loc["sub-03", "reason"]
    assert report.loc["sub-04", "reason"].startswith("cannot read sub-04_T1w.nii.gz")


def test_a_file_breaking_the_naming_rules_is_named_with_the_rule(adapted):
    reason = _report(adapted[1]).loc["sub-05", "reason"]
    assert reason.startswith("sub-05/anat/sub-05_run-1_acq-fast_T1w.nii.gz: entities ['sub', 'run', 'acq'] are out")
    assert "schema, rules.entities)" in reason


def test_the_first_session_with_every_modality_is_used(adapted):
    reason = _report(adapted[1]).loc["sub-02", "reason"]
    assert reason.startswith("session ses-2; not used: ses-1")


def test_other_modalities_are_resampled_onto_the_first_ones_grid(adapted):
    _, out = adapted
    paths = subject_paths(str(out), "sub-0001", ("T1w", "FLAIR"), labelled=True)
    t1, flair = nib.load(paths["T1w"]), nib.load(paths["FLAIR"])
    assert flair.shape == t1.shape and np.allclose(flair.affine, T1_AFFINE)
    inside = np.asarray(flair.dataobj) > 0
    assert inside.mean() > 0.5 and np.allclose(np.asarray(flair.dataobj)[inside], t1.get_fdata()[inside], atol=0.1)
    assert "FLAIR resampled onto the T1w grid" in _report(out).loc["sub-01", "reason"]


def test_label_maps_are_mapped_by_name_and_unknown_names_become_background(adapted):
    _, out = adapted
    dseg = np.asarray(nib.load(subject_paths(str(out), "sub-0001", (), labelled=True)["dseg"]).dataobj)
    expected = [0, BY_NAME["Left-Cerebral-Cortex"].index, BY_NAME["Right-Hippocampus"].index,
                BY_NAME["Left-Thalamus"].index, 0]  # WM-hypointensities has no project class
    assert [int(dseg[2 + i, 4, 4]) for i in range(5)] == expected and dseg.dtype == np.uint8
    assert "labels not in the project's scheme, set to 0: WM-hypointensities" in _report(out).loc["sub-01", "reason"]


def test_a_sidecar_table_takes_precedence_over_the_inherited_one(adapted):
    _, out = adapted
    dseg = np.asarray(nib.load(subject_paths(str(out), "sub-0003", (), labelled=True)["dseg"]).dataobj)
    assert [int(dseg[2 + i, 4, 4]) for i in range(3)] == [
        0, BY_NAME["Left-Cerebral-Cortex"].index, BY_NAME["Right-Lateral-Ventricle"].index]


def test_site_and_covariates_come_from_participants_tsv(adapted):
    _, out = adapted
    participants = pd.read_csv(out / "participants.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert participants[["participant_id", "site", "age", "sex", "source_id"]].values.tolist() == [
        ["sub-0001", "Leeds", "34.50", "F", "sub-01"], ["sub-0002", "York", "n/a", "M", "sub-02"],
        ["sub-0003", "n/a", "n/a", "n/a", "sub-10"]]
    assert "not in participants.tsv" in _report(out).loc["sub-10", "reason"]
    description = json.loads((out / "dataset_description.json").read_text())
    assert description["Name"].startswith("mystudy") and description["SourceDatasets"][0]["URL"].startswith("file:")


def test_without_labels_or_participants_every_subject_is_one_site(bids_root, tmp_path):
    (tmp_path / "src").mkdir()
    for name in ("dataset_description.json", "sub-01", "sub-03"):
        (tmp_path / "src" / name).symlink_to(bids_root / name)
    result = adapt_bids(tmp_path / "src", tmp_path / "out", 2, ["T1w"], labelled=False)
    assert [source for _, source in result.kept] == ["sub-01", "sub-03"]
    participants = pd.read_csv(tmp_path / "out" / "participants.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert set(participants["site"]) == {"n/a"} and not (tmp_path / "out" / "derivatives").exists()


def test_too_few_valid_subjects_is_an_error_listing_the_reasons(bids_root, tmp_path):
    with pytest.raises(AdapterError, match=r"only 3 valid subjects found, 4 requested .*sub-05/anat/sub-05_run-1"):
        adapt_bids(bids_root, tmp_path / "out", 4, ["T1w", "FLAIR"], labelled=True)
    assert not (tmp_path / "out").exists()


def test_a_folder_without_dataset_description_is_not_bids(tmp_path):
    (tmp_path / "sub-01").mkdir()
    with pytest.raises(AdapterError, match=r"dataset_description.json does not exist; BIDS requires"):
        adapt_bids(tmp_path, tmp_path / "out", 3, ["T1w"], labelled=False)


def test_participants_tsv_without_participant_id_is_an_error_naming_the_file(tmp_path):
    (tmp_path / "dataset_description.json").write_text("{}")
    (tmp_path / "participants.tsv").write_text("subject\tage\nsub-01\t30\n")
    with pytest.raises(AdapterError, match=r"participants.tsv has no participant_id column"):
        adapt_bids(tmp_path, tmp_path / "out", 3, ["T1w"], labelled=False)


@pytest.mark.parametrize("name, rule", [
    ("sub-01/anat/sub-01_T1.nii.gz", "suffix 'T1' is not allowed here"),
    ("sub-01/anat/sub-01_T1w.mgz", "extension '.mgz' is not one of"),
    ("sub-01/anat/sub-02_T1w.nii.gz", "sub-02 differs from its folder sub-01"),
    ("sub-01/anat/sub-01_scan-2_T1w.nii.gz", "'scan-2' is not <entity>-<label> with a BIDS entity"),
    ("sub-01/anat/sub-01_run-a_T1w.nii.gz", "run-'a' breaks the index format"),
    ("sub-01/anat/sub-01_space-MNI_T1w.nii.gz", "entities ['space'] are not allowed with suffix 'T1w'"),
    ("sub-01/anat/sub-01_desc-aseg_dseg.nii.gz", "suffix 'dseg' is not allowed here"),  # derivatives only
])
def test_each_broken_anat_name_is_an_error_naming_file_and_rule(name, rule):
    with pytest.raises(NamingError) as error:
        anat_name(Path(name))
    assert str(error.value).startswith(f"{name}: {rule}") and " schema, " in str(error.value)


def test_valid_names_parse_into_entities_suffix_and_extension():
    name = anat_name(Path("sub-01/ses-2/anat/sub-01_ses-2_acq-fast_run-3_FLAIR.nii"))
    assert (name.entities, name.suffix, name.extension) == ({"sub": "01", "ses": "2", "acq": "fast", "run": "3"},
                                                            "FLAIR", ".nii")
    assert dseg_name(Path("sub-01/anat/sub-01_space-T1w_desc-aseg_dseg.nii.gz")).suffix == "dseg"


@pytest.mark.parametrize("name, label", [
    ("Left-Cerebral-Cortex", "Left-Cerebral-Cortex"), ("left-cerebral-cortex", "Left-Cerebral-Cortex"),
    ("Right-Thalamus-Proper", "Right-Thalamus"), ("Left-Inf-Lat-Vent", "Left-Lateral-Ventricle"),
    ("Cerebellar-Vermis", "Cerebellar-Vermis"),
])
def test_label_names_map_onto_project_classes(name, label):
    assert project_label(name) == BY_NAME[label].index


def test_background_names_map_to_zero_and_unknown_names_to_none():
    assert project_label("Unknown") == 0 and project_label("background") == 0
    assert project_label("WM-hypointensities") is None and project_label("Tumour") is None
