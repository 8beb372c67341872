"""adapt(): sources checked, outputs written atomically and complete, dataset description from the registry."""

import json

import pytest

from neuroicl.datasets.adapters import adapt
from neuroicl.datasets.adapters.common import natural_key
from neuroicl.datasets.errors import AdapterError
from neuroicl.plan.layout import KINDS, REPORT, participant_ids, subject_paths


def _files(folder):
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_exactly_the_layout_files_are_written(fabricated, tmp_path, kind):
    adapt(kind, fabricated.sources[kind], tmp_path / kind, 2)
    spec = KINDS[kind]
    images = [
        path
        for participant in participant_ids(2)
        for path in subject_paths(str(tmp_path / kind), participant, spec.modalities, spec.labelled).values()
    ]
    expected = {"participants.tsv", "dataset_description.json", REPORT} | {
        str(path).removeprefix(f"{tmp_path / kind}/") for path in images
    }
    assert _files(tmp_path / kind) == sorted(expected)
    assert [path.name for path in tmp_path.iterdir()] == [kind]


def test_a_failed_rerun_leaves_the_previous_output_untouched(fabricated, tmp_path):
    out = tmp_path / "oasis1"
    adapt("oasis1", fabricated.sources["oasis1"], out, 2)
    before = {name: (out / name).read_bytes() for name in _files(out)}
    with pytest.raises(AdapterError, match="only 3 valid subjects found, 9 requested"):
        adapt("oasis1", fabricated.sources["oasis1"], out, 9)
    assert {name: (out / name).read_bytes() for name in _files(out)} == before
    assert [path.name for path in tmp_path.iterdir()] == ["oasis1"]


def test_an_existing_folder_is_replaced_whole(fabricated, tmp_path):
    out = tmp_path / "msd"
    (out / "sub-0009" / "anat").mkdir(parents=True)
    (out / "sub-0009" / "anat" / "sub-0009_T1w.nii.gz").write_text("old")
    (out / "derivatives" / "labels").mkdir(parents=True)
    adapt("msd_brain_tumour", fabricated.sources["msd_brain_tumour"], out, 1)
    assert not (out / "sub-0009").exists() and not (out / "derivatives").exists()
    assert (out / "sub-0001" / "anat" / "sub-0001_FLAIR.nii.gz").is_file()


def test_a_folder_with_files_an_adapter_did_not_write_is_not_replaced(fabricated, tmp_path):
    out = tmp_path / "datasets"
    out.mkdir()
    (out / "registry.yaml").write_text("precious")
    with pytest.raises(AdapterError, match="registry.yaml\\); refusing to replace it"):
        adapt("oasis1", fabricated.sources["oasis1"], out, 1)
    assert (out / "registry.yaml").read_text() == "precious" and [p.name for p in out.iterdir()] == ["registry.yaml"]


def test_the_dataset_description_carries_licence_citation_and_source_urls(fabricated, tmp_path, root):
    registry = root / "resources" / "datasets" / "registry.yaml"
    adapt("msd_brain_tumour", fabricated.sources["msd_brain_tumour"], tmp_path / "msd", 1, registry_path=registry)
    description = json.loads((tmp_path / "msd" / "dataset_description.json").read_text())
    assert description["License"].startswith("CC BY-SA 4.0")
    assert "Medical Segmentation Decathlon" in description["HowToAcknowledge"]
    assert description["SourceDatasets"] == [
        {"URL": "https://msd-for-monai.s3-us-west-2.amazonaws.com/Task01_BrainTumour.tar"}
    ]
    assert description["DatasetType"] == "raw"


@pytest.mark.parametrize(
    ("kind", "sources", "message"),
    [
        ("abide", {}, "unknown dataset kind 'abide'"),
        ("oasis1", {}, r"missing \['neurite_oasis'\]"),
        ("oasis1", {"neurite_oasis": "x", "ixi_t1": "y"}, r"unexpected \['ixi_t1'\]"),
        (
            "oasis1",
            {"neurite_oasis": "/nowhere/neurite"},
            "/nowhere/neurite does not exist; fetch the registry entry 'neurite_oasis' first",
        ),
    ],
)
def test_wrong_sources_are_named(tmp_path, kind, sources, message):
    with pytest.raises(AdapterError, match=message):
        adapt(kind, sources, tmp_path / "out", 1)
    assert list(tmp_path.iterdir()) == []


def test_n_subjects_must_be_positive(fabricated, tmp_path):
    with pytest.raises(AdapterError, match="n_subjects must be ≥ 1, got 0"):
        adapt("oasis1", fabricated.sources["oasis1"], tmp_path / "out", 0)


def test_source_ids_sort_by_their_numbers():
    assert sorted(["BRATS_10", "BRATS_9", "BRATS_100"], key=natural_key) == ["BRATS_9", "BRATS_10", "BRATS_100"]
