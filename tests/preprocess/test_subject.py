"""The per-subject job on a subject without label map or truth files (a real dataset such as IXI)."""

from __future__ import annotations

import copy

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neuroicl.data import geometry
from neuroicl.preprocess.antsenv import import_ants
from neuroicl.preprocess.chain import PreprocessSettings, Template
from neuroicl.preprocess.grid import ModelGrid, resample
from neuroicl.preprocess.subject import TRUTH, run_subject, truth_files


@pytest.fixture
def real_subject(reference, tmp_path):
    """The reference head at 3 mm in a scanner pose, as T1w and an inverted-contrast T2w; no labels, no truth."""
    grid = ModelGrid((64, 76, 64), 3.0, (0.0, -18.0, 8.0))
    t1 = resample(reference.t1, reference.affine, np.eye(4), grid).astype(np.float32)
    affine = (
        np.linalg.inv(geometry.pose_matrix(np.array([6.0, -4.0, 3.0]), np.array([5.0, -3.0, 2.0]), 1.0)) @ grid.affine
    )
    t2 = np.where(t1 > 0, t1.max() * 1.1 - t1, 0).astype(np.float32)
    images = {}
    for name, data in (("T1w", t1), ("T2w", t2)):
        images[name] = str(tmp_path / f"sub-0001_{name}.nii.gz")
        nib.save(nib.Nifti1Image(data, affine), images[name])
    return images


def test_subject_without_labels_or_truth_gets_slices_and_a_qc_row_of_what_can_be_measured(
    reference, real_subject, tmp_path, test_config
):
    block = copy.deepcopy(test_config["preprocess"])
    block["skullstrip"] = "atlas"  # keeps the test fast; the row's metrics do not depend on the stripper
    settings = PreprocessSettings.from_config(block)
    template = Template.from_reference(reference.t1, reference.affine, reference.brain, settings.grid)
    outputs = {
        key: str(tmp_path / name)
        for key, name in (("slices", "s.npz"), ("transform", "t.json"), ("figure", "q.png"), ("row", "r.tsv"))
    }
    row = run_subject(
        import_ants(1),
        subject="sub-0001",
        site="Guys",
        images=real_subject,
        labels=None,
        truth=None,
        template=template,
        settings=settings,
        modalities=["T1w", "T2w"],
        slicing=block["slices"],
        outputs=outputs,
        threads=1,
    )
    assert not {"registration_mean_mm", "skullstrip_dice"} & set(row)  # nothing to compare with
    assert row["template_corr"] > 0.8  # the registered T1w looks like the template
    assert 800 < row["brain_ml"] < 2500 and 0 < row["template_dice"] <= 1
    with np.load(outputs["slices"]) as arrays:
        assert arrays["images"].shape[1] == 2 and not arrays["labels"].any() and arrays["available"].all()
    table = pd.read_csv(outputs["row"], sep="\t")
    assert list(table["subject"]) == ["sub-0001"] and "template_corr" in table


def test_truth_files_are_all_or_nothing():
    assert truth_files({"T1w": "a.nii.gz"}) is None
    assert truth_files({key: f"{key}.x" for key in TRUTH}) == {key: f"{key}.x" for key in TRUTH}
    with pytest.raises(ValueError, match="bias"):
        truth_files({"pose": "p.json", "mask": "m.nii.gz"})
