import hashlib
from dataclasses import replace
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch

from neuroicl.data import labels as L
from neuroicl.data.cohort import render_subject, sample_participants, sample_subject, synthesize
from neuroicl.plan.cohort import CohortSpec


@pytest.fixture(scope="module")
def rendered(anatomy, config_loader):
    """(spec, params, subject) for subject 1 of the tiny test cohort."""
    spec = CohortSpec.from_config(config_loader()["cohort"])
    params = sample_subject(spec, sample_participants(spec).iloc[0].to_dict(), anatomy)
    return spec, params, render_subject(params, spec, anatomy)


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*.*"))}


def test_same_seed_gives_byte_identical_files_and_leaves_global_rng_alone(tiny_spec, anatomy, tmp_path):
    participant = sample_participants(tiny_spec).iloc[1].to_dict()
    np.random.seed(123)
    torch.manual_seed(123)
    numpy_state, torch_state = np.random.get_state()[1].copy(), torch.get_rng_state().clone()
    for run in ("a", "b"):
        synthesize(
            tiny_spec, anatomy, participant, tiny_spec.subject_paths(str(tmp_path / run), participant["participant_id"])
        )
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert len(_digest(tmp_path / "a")) == len(tiny_spec.modalities) + 4
    assert (np.random.get_state()[1] == numpy_state).all() and torch.equal(torch.get_rng_state(), torch_state)


def test_other_seed_gives_another_subject(tiny_spec, anatomy):
    other = replace(tiny_spec, seed=tiny_spec.seed + 1)
    first = sample_subject(tiny_spec, sample_participants(tiny_spec).iloc[0].to_dict(), anatomy)
    second = sample_subject(other, sample_participants(other).iloc[0].to_dict(), anatomy)
    assert not np.allclose(first.angles_deg, second.angles_deg)


def test_brain_mask_is_inside_the_head_and_wrapped_by_skull(rendered):
    _, _, subject = rendered
    head = subject.dseg > 0
    assert subject.brain.sum() > 1000
    assert not (subject.brain & ~head).any()
    assert (subject.dseg == L.SKULL).sum() > 0.1 * subject.brain.sum()


def test_labels_are_consistent_with_the_mask(rendered):
    _, _, subject = rendered
    brain_ids = [label.index for label in L.LABELS if label.index < L.HEAD_MIN]
    np.testing.assert_array_equal(subject.brain, np.isin(subject.dseg, brain_ids))


def test_pose_maps_t1_back_onto_the_template(rendered, reference):
    """Resample the native T1 onto the template grid with the saved pose; compare with the real template."""
    from scipy import ndimage

    spec, _, subject = rendered

    def correlation(native_to_mni):
        voxel_map = np.linalg.inv(subject.affine) @ np.linalg.inv(native_to_mni) @ reference.affine
        moved = ndimage.affine_transform(
            subject.images["T1w"], voxel_map[:3, :3], voxel_map[:3, 3], output_shape=reference.t1.shape, order=1
        )
        inside = reference.t1 > 0
        return np.corrcoef(moved[inside], reference.t1[inside])[0, 1]

    posed = correlation(subject.native_to_mni)
    assert posed > 0.6
    assert posed > correlation(np.eye(4)) + 0.3


@pytest.mark.parametrize(
    ("modality", "order"),
    [
        ("T1w", ("wm", "gm", "csf")),
        ("T2w", ("csf", "gm", "wm")),
        ("PDw", ("csf", "gm", "wm")),
        ("FLAIR", ("gm", "wm", "csf")),
    ],
)
def test_modalities_have_their_tissue_contrast_order(tiny_spec, anatomy, modality, order):
    spec = replace(tiny_spec, modalities=(modality,))
    means = []
    for _, participant in sample_participants(spec).iterrows():
        subject = render_subject(sample_subject(spec, participant.to_dict(), anatomy), spec, anatomy)
        regions = {"wm": L.WHITE_MATTER, "gm": L.CORTEX, "csf": L.LATERAL_VENTRICLES}
        means.append([np.median(subject.images[modality][np.isin(subject.dseg, regions[t])]) for t in order])
    for m in means:
        assert m[0] > m[1] > m[2], (modality, m)


def test_age_enlarges_ventricles_and_thins_cortex(rendered, anatomy):
    spec, params, _ = rendered
    volumes = {}
    for age_fraction in (0.0, 1.0):
        subject = render_subject(replace(params, age_fraction=age_fraction), spec, anatomy)
        volumes[age_fraction] = (
            np.isin(subject.dseg, L.LATERAL_VENTRICLES).sum(),
            np.isin(subject.dseg, L.CORTEX).sum(),
        )
    assert volumes[1.0][0] > 1.2 * volumes[0.0][0]
    assert volumes[1.0][1] < 0.9 * volumes[0.0][1]


def test_sex_drives_head_scale(test_config):
    test_config["cohort"]["n_subjects"] = 200
    table = sample_participants(CohortSpec.from_config(test_config["cohort"]))
    scale = table.groupby("sex")["head_scale"].mean()
    assert scale["M"] > scale["F"] * 1.03


def test_sex_resizes_putamen_and_pallidum_when_asked_and_nothing_else_otherwise(rendered, anatomy):
    """cohort.deformation.sex_expansion_mm: the putamen and pallidum grow in a male subject and shrink in a female
    one, relative to the brain (so the MNI affine keeps it); at 0 the sex leaves the anatomy as it was."""
    spec, params, subject = rendered
    as_before = render_subject(replace(params, sex_sign=-params.sex_sign), spec, anatomy)
    np.testing.assert_array_equal(as_before.dseg, subject.dseg)
    effect = replace(spec, sex_expansion_mm=3.0)
    fraction = {}
    for sign in (-1.0, 1.0):
        dseg = render_subject(replace(params, sex_sign=sign), effect, anatomy).dseg
        brain = (dseg > 0) & (dseg < L.HEAD_MIN)
        fraction[sign] = np.isin(dseg, L.SEX_DIMORPHIC).sum() / brain.sum()
    assert fraction[1.0] > 1.3 * fraction[-1.0], fraction


def test_sex_sign_follows_the_participants_table(tiny_spec, anatomy):
    table = sample_participants(tiny_spec)
    for _, participant in table.iterrows():
        params = sample_subject(tiny_spec, participant.to_dict(), anatomy)
        assert params.sex_sign == (1.0 if participant["sex"] == "M" else -1.0)


def test_sites_have_their_voxel_size_and_orientation(tiny_spec, anatomy):
    for _, participant in sample_participants(tiny_spec).iterrows():
        params = sample_subject(tiny_spec, participant.to_dict(), anatomy)
        subject = render_subject(params, tiny_spec, anatomy)
        assert "".join(nib.aff2axcodes(subject.affine)) == params.site.orientation
        np.testing.assert_allclose(nib.affines.voxel_sizes(subject.affine), params.site.voxel_size_mm)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("n_subjects",), 0, "n_subjects"),
        (("deformation", "sex_expansion_mm"), -1.0, "sex_expansion_mm"),
        (("modalities",), ["T1w", "DWI"], "DWI"),
        (("sites", 0, "orientation"), "RAX", "RAX"),
        (("sites", 0, "voxel_size_mm"), [1.0, -1.0, 1.0], "voxel_size_mm"),
    ],
)
def test_bad_cohort_values_are_errors_naming_them(test_config, path, value, message):
    node = test_config["cohort"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ValueError, match=message):
        CohortSpec.from_config(test_config["cohort"])
