"""The embedded cohort: SynthSeg-style subjects synthesized from the reference anatomy.

Every random choice is a sampler/applier pair: :func:`sample_participants` and
:func:`sample_subject` draw explicit parameters from a ``numpy.random.Generator`` derived from
(cohort seed, purpose, subject index); :func:`render_subject` is a pure function of those
parameters and the precomputed :class:`~neuroicl.data.anatomy.Anatomy`.

Truth conventions: ``native_to_mni`` maps native scanner mm to MNI mm; the subject's anatomy is
the atlas warped by ``exp(v)`` with its affine part removed, so that affine is the whole affine truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy import ndimage

from neuroicl.core.io import write_json, write_nifti
from neuroicl.data import contrast, geometry
from neuroicl.data import labels as L
from neuroicl.data.anatomy import Anatomy
from neuroicl.plan.cohort import MODALITIES, CohortSpec, SiteSpec

_SEXES = ("F", "M")
_SEX_SCALE = {"F": 0.96, "M": 1.03}  # head/brain size by sex (relative to MNI)
_SEX_SIGN = {"F": -1.0, "M": 1.0}  # putamen and pallidum shrink / grow (cohort.deformation.sex_expansion_mm)
_PURPOSE_PARTICIPANTS, _PURPOSE_SUBJECT, _PURPOSE_SITE = 0, 1, 2

# Per label value (uint8): its tissue row in contrast.MEANS (air: a zero row appended at the end)
# and its texture amplitude. Fixed by the label scheme, so derived once.
_AIR_TISSUE = len(contrast.TISSUES)
_TISSUE_OF_LABEL = np.full(256, _AIR_TISSUE, dtype=np.intp)
_TEXTURE_OF_LABEL = np.full(256, contrast.BRAIN_TEXTURE, dtype=np.float32)
_TEXTURE_OF_LABEL[0] = 0
for _label in L.LABELS:
    _TISSUE_OF_LABEL[_label.index] = contrast.TISSUES.index(_label.tissue)
    _TEXTURE_OF_LABEL[_label.index] = contrast.TEXTURE.get(_label.tissue, contrast.BRAIN_TEXTURE)


def sample_participants(spec: CohortSpec) -> pd.DataFrame:
    """Covariates of every subject: site (round robin), age, sex, and a sex-driven head scale."""
    rng = np.random.default_rng([spec.seed, _PURPOSE_PARTICIPANTS])
    n = spec.n_subjects
    sex = rng.choice(_SEXES, size=n)
    return pd.DataFrame(
        {
            "participant_id": spec.subject_ids(),
            "site": [spec.site_of(i).name for i in range(n)],
            "age": np.round(rng.uniform(*spec.age_range, size=n), 1),
            "sex": sex,
            "head_scale": np.round([_SEX_SCALE[s] for s in sex] * np.exp(rng.normal(0, 0.02, size=n)), 4),
        }
    )


@dataclass(frozen=True)
class SubjectParams:
    """Explicit random parameters of one subject (drawn by :func:`sample_subject`).

    velocity_control and modulation_control are ``[C, x, y, z]`` values on a control grid spanning
    the anatomy's coarse box; modulation channels are head-layer thickness (csf, skull, scalp) and
    tissue texture.
    """

    participant_id: str
    site: SiteSpec
    age_fraction: float
    sex_sign: float
    head_scale: float
    angles_deg: np.ndarray
    translation_mm: np.ndarray
    fov_shift_mm: np.ndarray
    velocity_control: np.ndarray
    modulation_control: np.ndarray
    head_thickness_mm: np.ndarray
    tissue_means: np.ndarray
    bias_coefficients: np.ndarray
    noise_seed: int


def _control_shape(anatomy: Anatomy, spacing_mm: float) -> tuple[int, int, int]:
    extent = np.array(anatomy.coarse_brain.shape) * abs(anatomy.coarse_affine[0, 0])
    return tuple(int(n) for n in np.ceil(extent / spacing_mm).astype(int) + 1)


def site_jitter(spec: CohortSpec, site: SiteSpec) -> np.ndarray:
    """Fixed per-site contrast jitter (log-scale, tissue × modality), drawn from the site's stream."""
    index = [s.name for s in spec.sites].index(site.name)
    return np.random.default_rng([spec.seed, _PURPOSE_SITE, index]).normal(0, 0.03, size=contrast.MEANS.shape)


def sample_subject(spec: CohortSpec, participant: dict, anatomy: Anatomy) -> SubjectParams:
    """Draw every random parameter of one subject from its own stream (seed, subject index)."""
    index = spec.subject_ids().index(participant["participant_id"])
    rng = np.random.default_rng([spec.seed, _PURPOSE_SUBJECT, index])
    site = next(s for s in spec.sites if s.name == participant["site"])
    control = _control_shape(anatomy, spec.control_spacing_mm)
    lo, hi = spec.age_range
    degree = 4  # Legendre polynomials up to degree 3 along each axis, total degree ≤ 3
    orders = np.add.outer(np.add.outer(np.arange(degree), np.arange(degree)), np.arange(degree))
    bias = rng.normal(0, site.bias, size=(degree,) * 3) / (1 + orders) * (orders <= 3)
    bias[0, 0, 0] = 0
    ranges = np.array([spec.head_csf_mm, spec.head_skull_mm, spec.head_scalp_mm])
    return SubjectParams(
        participant_id=participant["participant_id"],
        site=site,
        age_fraction=float((participant["age"] - lo) / max(hi - lo, 1e-9)),
        sex_sign=_SEX_SIGN[participant["sex"]],
        head_scale=float(participant["head_scale"]),
        angles_deg=rng.uniform(-spec.max_rotation_deg, spec.max_rotation_deg, size=3),
        translation_mm=rng.uniform(-spec.max_translation_mm, spec.max_translation_mm, size=3),
        fov_shift_mm=rng.uniform(-5, 5, size=3),
        velocity_control=rng.normal(0, 1, size=(3, *control)),
        modulation_control=rng.normal(0, 1, size=(4, *control)),
        head_thickness_mm=rng.uniform(ranges[:, 0], ranges[:, 1]),
        tissue_means=contrast.tissue_means(
            site.contrast_gamma, site_jitter(spec, site) + rng.normal(0, 0.02, size=contrast.MEANS.shape)
        ),
        bias_coefficients=bias,
        noise_seed=int(rng.integers(2**31)),
    )


@dataclass(frozen=True)
class Subject:
    """A rendered subject in native space: images by modality (float32), truth, and geometry."""

    affine: np.ndarray
    images: dict[str, np.ndarray]
    dseg: np.ndarray
    brain: np.ndarray
    bias: np.ndarray
    native_to_mni: np.ndarray
    nonlinear_mm: dict[str, float]


def _smooth_field(control: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Cubic-spline upsampling of control values ``[C, x, y, z]`` to ``[C, *shape]``."""
    zoom = [n / c for n, c in zip(shape, control.shape[1:], strict=True)]
    return np.stack([ndimage.zoom(channel, zoom, order=3, grid_mode=True, mode="grid-constant") for channel in control])


def subject_displacement(params: SubjectParams, spec: CohortSpec, anatomy: Anatomy) -> torch.Tensor:
    """Nonlinear displacement ``[3, X', Y', Z']`` (mm, coarse grid): random + age-driven ventricle growth + the sex
    effect (putamen and pallidum grow in male subjects, shrink in female ones: it survives the MNI affine, which
    removes the head-size effect)."""
    brain = anatomy.coarse_brain
    random = _smooth_field(params.velocity_control, brain.shape)
    random *= spec.velocity_rms_mm / max(float(np.sqrt((random[:, brain] ** 2).sum(0).mean())), 1e-9)
    pull = anatomy.ventricle_pull * spec.ventricle_expansion_mm * params.age_fraction
    if spec.sex_expansion_mm:
        pull = pull + anatomy.sex_pull * (spec.sex_expansion_mm * params.sex_sign)
    velocity = torch.as_tensor(random + pull, dtype=torch.float32)
    displacement = geometry.integrate_velocity(velocity, anatomy.coarse_affine)
    return geometry.remove_affine(displacement, anatomy.coarse_affine, brain)


def _native_grid(
    params: SubjectParams, native_to_mni: np.ndarray, anatomy: Anatomy
) -> tuple[tuple[int, int, int], np.ndarray]:
    site = params.site
    direction = np.abs(geometry.orientation_matrix(site.orientation)).argmax(axis=0)  # world axis per voxel axis
    shape = tuple(int(round(site.fov_mm[a] / v)) for a, v in zip(direction, site.voxel_size_mm, strict=True))
    center = (np.linalg.inv(native_to_mni) @ np.append(anatomy.head_center, 1))[:3] + params.fov_shift_mm
    return shape, geometry.grid_affine(site.orientation, np.array(site.voxel_size_mm), shape, center)


def _bias_field(coefficients: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``exp`` of a Legendre polynomial over the grid (coordinates in [-1, 1] per axis)."""
    legendre = [np.polynomial.legendre.legvander(np.linspace(-1, 1, n), coefficients.shape[0] - 1) for n in shape]
    log_field = np.einsum("ijk,xi,yj,zk->xyz", coefficients, *legendre, optimize=True)
    return np.exp(log_field).astype(np.float32)


def _layer_labels(dseg: np.ndarray, outside_mm: np.ndarray, modulation: np.ndarray, params: SubjectParams) -> None:
    """Add extra-cerebral CSF, skull and scalp around the brain in place (thickness varies smoothly)."""
    thickness = params.head_thickness_mm[:, None, None, None] * np.clip(1 + 0.25 * modulation[:3], 0.4, 1.6)
    bounds = np.cumsum(thickness, axis=0)
    distance = outside_mm * params.head_scale
    air = dseg == 0
    for label, bound in zip((L.SCALP, L.SKULL, L.EXTRA_CSF), bounds[::-1], strict=True):
        dseg[air & (distance <= bound)] = label


def render_subject(params: SubjectParams, spec: CohortSpec, anatomy: Anatomy) -> Subject:
    """Synthesize one subject's images and truth in native space (pure in ``params``)."""
    native_to_mni = geometry.pose_matrix(params.angles_deg, params.translation_mm, params.head_scale)
    shape, affine = _native_grid(params, native_to_mni, anatomy)
    mni = geometry.transform_points(native_to_mni, geometry.grid_points(shape, affine))
    displacement = subject_displacement(params, spec, anatomy)
    offset = geometry.sample(displacement, anatomy.coarse_affine, mni)
    warped = mni + offset
    dseg = geometry.sample(torch.as_tensor(anatomy.dseg[None]), anatomy.fine_affine, warped, "nearest")[..., 0]
    dseg = dseg.round().to(torch.uint8).numpy()
    fine = torch.as_tensor(np.stack([anatomy.outside_mm, anatomy.cortex_depth]))
    outside_mm, depth = geometry.sample(fine, anatomy.fine_affine, warped).permute(3, 0, 1, 2).numpy()
    modulation_grid = torch.as_tensor(
        _smooth_field(params.modulation_control, anatomy.coarse_brain.shape), dtype=torch.float32
    )
    modulation = geometry.sample(modulation_grid, anatomy.coarse_affine, warped).permute(3, 0, 1, 2).numpy()

    thinned = np.isin(dseg, L.CORTEX) & (depth < spec.cortex_thinning * params.age_fraction)
    dseg[thinned] = L.CSF
    _layer_labels(dseg, outside_mm, modulation, params)
    brain = (dseg > 0) & (dseg < L.HEAD_MIN)

    bias = _bias_field(params.bias_coefficients, shape)
    rng = np.random.default_rng(params.noise_seed)
    texture_map = 1 + _TEXTURE_OF_LABEL[dseg] * modulation[3]
    means = np.vstack([params.tissue_means, np.zeros((1, len(MODALITIES)))]).astype(np.float32)  # + air
    images = {}
    for modality in spec.modalities:
        lut = means[_TISSUE_OF_LABEL, MODALITIES.index(modality)]
        clean = ndimage.gaussian_filter(np.clip(lut[dseg] * texture_map, 0, None), sigma=0.5)  # partial volume
        signal = clean * bias
        sigma = params.site.noise
        noisy = np.hypot(
            signal + sigma * rng.standard_normal(shape, dtype=np.float32),
            sigma * rng.standard_normal(shape, dtype=np.float32),
        )
        images[modality] = noisy.astype(np.float32)

    magnitude = np.linalg.norm(offset.numpy(), axis=-1)[brain]
    nonlinear = (
        {"mean": float(magnitude.mean()), "max": float(magnitude.max())} if brain.any() else {"mean": 0.0, "max": 0.0}
    )
    return Subject(affine, images, dseg, brain, bias, native_to_mni, nonlinear)


def write_subject(subject: Subject, params: SubjectParams, paths: dict[str, str]) -> None:
    """Write images (int16 scanner units: 1000 per unit of relative intensity, WM on T1w ≈ 800) and
    truth files, each atomically."""
    for modality, image in subject.images.items():
        write_nifti(paths[modality], np.clip(np.round(image * 1000), 0, 32767).astype(np.int16), subject.affine)
    write_nifti(paths["dseg"], subject.dseg, subject.affine)
    write_nifti(paths["mask"], subject.brain.astype(np.uint8), subject.affine)
    write_nifti(paths["bias"], subject.bias, subject.affine, dtype=np.uint16)
    write_json(
        paths["pose"],
        {
            "native_to_mni": np.round(subject.native_to_mni, 10).tolist(),
            "convention": "maps native scanner coordinates (RAS mm) to MNI152 2009a coordinates (mm); "
            "the anatomy's remaining nonlinear deformation has no affine part",
            "rotation_deg": np.round(params.angles_deg, 6).tolist(),
            "translation_mm": np.round(params.translation_mm, 6).tolist(),
            "head_scale": params.head_scale,
            "nonlinear_displacement_mm": {k: round(v, 4) for k, v in subject.nonlinear_mm.items()},
            "site": params.site.name,
        },
    )


def read_participants(path: str) -> pd.DataFrame:
    """``participants.tsv`` (IDs kept as strings)."""
    return pd.read_csv(path, sep="\t", dtype={"participant_id": str})


def read_participant(path: str, participant_id: str) -> dict:
    """One row of ``participants.tsv`` as a dict; a missing subject is an error naming the file."""
    table = read_participants(path)
    rows = table[table["participant_id"] == participant_id]
    if len(rows) != 1:
        raise ValueError(
            f"{path}: expected one row for {participant_id}, found {len(rows)}; rerun the participants rule"
        )
    return rows.iloc[0].to_dict()


def synthesize(spec: CohortSpec, anatomy: Anatomy, participant: dict, paths: dict[str, str]) -> Subject:
    """Sample, render and write one subject (the data stage's per-subject job)."""
    params = sample_subject(spec, participant, anatomy)
    subject = render_subject(params, spec, anatomy)
    write_subject(subject, params, paths)
    return subject
