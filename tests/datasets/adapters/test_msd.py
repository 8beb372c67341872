"""MSD Task01 BrainTumour: 4D images split into FLAIR, T1w, T1Gd, T2w by dataset.json's channel order."""

import json

import nibabel as nib
import numpy as np
import pytest

from neuroicl.datasets.adapters import adapt
from neuroicl.datasets.adapters.msd import read_channels
from neuroicl.datasets.errors import AdapterError
from neuroicl.plan.layout import KINDS, subject_paths

MODALITIES = KINDS["msd_brain_tumour"].modalities


def _channels(out, participant):
    paths = subject_paths(str(out), participant, MODALITIES, labelled=False)
    return {modality: nib.load(paths[modality]) for modality in MODALITIES}


def test_valid_cases_are_kept_and_hidden_macos_files_ignored(fabricated, tmp_path):
    result = adapt("msd_brain_tumour", fabricated.sources["msd_brain_tumour"], tmp_path / "msd", 3)
    assert [source for _, source in result.kept] == ["BRATS_001", "BRATS_004", "BRATS_010"]
    assert dict(result.skipped) == {
        "BRATS_002": "BRATS_002.nii.gz has shape (10, 12, 10); a 4D image is expected",
        "BRATS_003": "BRATS_003.nii.gz has 3 channels; 4 (FLAIR, T1w, T1Gd, T2w) are expected",
    }
    with pytest.raises(
        AdapterError, match=r"only 3 valid.*BRATS_011: BRATS_011.nii.gz: channel 2 \(T1Gd\) is all zero"
    ):
        adapt("msd_brain_tumour", fabricated.sources["msd_brain_tumour"], tmp_path / "more", 4)


def test_each_channel_becomes_its_modality_with_the_affine_kept(fabricated, tmp_path):
    adapt("msd_brain_tumour", fabricated.sources["msd_brain_tumour"], tmp_path / "msd", 1)
    source = nib.load(
        fabricated.sources["msd_brain_tumour"]["msd_task01_brain_tumour"]
        / "Task01_BrainTumour"
        / "imagesTr"
        / "BRATS_001.nii.gz"
    )
    data = source.get_fdata()
    for channel, (modality, image) in enumerate(_channels(tmp_path / "msd", "sub-0001").items()):
        assert modality == MODALITIES[channel]
        np.testing.assert_array_equal(image.get_fdata(), data[..., channel])
        np.testing.assert_array_equal(image.affine, source.affine)


def test_the_channel_order_comes_from_dataset_json(copy_tree, fabricated, tmp_path):
    root = copy_tree(fabricated.sources["msd_brain_tumour"]["msd_task01_brain_tumour"])
    description = root / "Task01_BrainTumour" / "dataset.json"
    meta = json.loads(description.read_text())
    meta["modality"] = {"0": "T2w", "1": "FLAIR", "2": "t1gd", "3": "T1w"}
    description.write_text(json.dumps(meta))
    adapt("msd_brain_tumour", {"msd_task01_brain_tumour": root}, tmp_path / "msd", 1)
    data = nib.load(root / "Task01_BrainTumour" / "imagesTr" / "BRATS_001.nii.gz").get_fdata()
    images = _channels(tmp_path / "msd", "sub-0001")
    for modality, channel in {"T2w": 0, "FLAIR": 1, "T1Gd": 2, "T1w": 3}.items():
        np.testing.assert_array_equal(images[modality].get_fdata(), data[..., channel])


def test_the_real_channel_order_is_read(fabricated):
    path = fabricated.sources["msd_brain_tumour"]["msd_task01_brain_tumour"] / "Task01_BrainTumour" / "dataset.json"
    assert read_channels(path) == ("FLAIR", "T1w", "T1Gd", "T2w")


@pytest.mark.parametrize(
    "modality",
    [
        {"0": "FLAIR", "1": "T1w", "2": "t1gd"},
        {"0": "FLAIR", "1": "T1w", "2": "CT", "3": "T2w"},
        {"1": "FLAIR", "2": "T1w", "3": "t1gd", "4": "T2w"},
    ],
)
def test_an_unexpected_modality_map_is_an_error(tmp_path, modality):
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps({"modality": modality}))
    with pytest.raises(AdapterError, match="'modality' is .*Task01_BrainTumour"):
        read_channels(path)
