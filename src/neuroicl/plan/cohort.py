"""What the config's ``cohort`` block asks for: the embedded cohort's sites, subjects and file names.

Torch-free (the workflow reads it while it builds the DAG); the generator itself is
:mod:`neuroicl.data.cohort`.

Example:
    >>> spec = CohortSpec.from_config(config["cohort"])
    >>> spec.subject_ids()[:2], sorted(spec.subject_paths("resources/embedded", "sub-001"))[:2]
    (['sub-001', 'sub-002'], ['FLAIR', 'PDw'])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Modalities the generator can synthesize (the columns of :data:`neuroicl.data.contrast.MEANS`).
MODALITIES = ("T1w", "T2w", "PDw", "FLAIR")

#: Orientation letter -> (world axis, sign): the voxel axis points that way (RAS world, mm).
ORIENTATION_AXES = {"R": (0, 1.0), "L": (0, -1.0), "A": (1, 1.0), "P": (1, -1.0), "S": (2, 1.0), "I": (2, -1.0)}


def check_orientation(code: str) -> None:
    """Raise ValueError unless ``code`` (e.g. 'RAS', 'LPS', 'PIL') names each world axis once."""
    if (
        len(code) != 3
        or any(c not in ORIENTATION_AXES for c in code)
        or len({ORIENTATION_AXES[c][0] for c in code}) != 3
    ):
        raise ValueError(f"orientation code {code!r} must name each world axis once, e.g. 'RAS', 'LPS' or 'PIL'")


def check_modalities(modalities: list[str] | tuple[str, ...]) -> None:
    """Raise ValueError naming any modality the generator cannot synthesize."""
    unknown = [m for m in modalities if m not in MODALITIES]
    if unknown or not modalities:
        raise ValueError(f"cohort.modalities {list(modalities)}: each must be one of {list(MODALITIES)}")


@dataclass(frozen=True)
class SiteSpec:
    """One simulated scanner site (config ``cohort.sites[*]``)."""

    name: str
    voxel_size_mm: tuple[float, float, float]
    orientation: str
    fov_mm: tuple[float, float, float]
    noise: float
    bias: float
    contrast_gamma: float

    def __post_init__(self) -> None:
        check_orientation(self.orientation)
        for key in ("voxel_size_mm", "fov_mm"):
            value = getattr(self, key)
            if len(value) != 3 or min(value) <= 0:
                raise ValueError(f"cohort.sites[{self.name}].{key} must be three positive numbers, got {value}")
        if self.noise < 0 or self.bias < 0 or self.contrast_gamma <= 0:
            raise ValueError(f"cohort.sites[{self.name}]: noise and bias must be ≥ 0 and contrast_gamma > 0")


@dataclass(frozen=True)
class CohortSpec:
    """Everything the generator reads from the config's ``cohort`` block."""

    seed: int
    n_subjects: int
    modalities: tuple[str, ...]
    age_range: tuple[float, float]
    max_rotation_deg: float
    max_translation_mm: float
    velocity_rms_mm: float
    control_spacing_mm: float
    ventricle_expansion_mm: float
    cortex_thinning: float
    head_csf_mm: tuple[float, float]
    head_skull_mm: tuple[float, float]
    head_scalp_mm: tuple[float, float]
    sites: tuple[SiteSpec, ...]
    sex_expansion_mm: float = 0.0

    def __post_init__(self) -> None:
        check_modalities(self.modalities)
        if self.n_subjects < 1:
            raise ValueError(f"cohort.n_subjects must be ≥ 1, got {self.n_subjects}")
        if not self.sites:
            raise ValueError("cohort.sites must list at least one site")
        if self.sex_expansion_mm < 0:
            raise ValueError(f"cohort.deformation.sex_expansion_mm must be ≥ 0, got {self.sex_expansion_mm}")
        if not 0 <= self.cortex_thinning < 1:
            raise ValueError(f"cohort.deformation.cortex_thinning must be in [0, 1), got {self.cortex_thinning}")

    @classmethod
    def from_config(cls, cohort: dict[str, Any]) -> CohortSpec:
        """Build from the (schema-validated) ``config['cohort']`` dict."""
        deformation, head = cohort["deformation"], cohort["head"]
        sites = tuple(
            SiteSpec(**{**site, "voxel_size_mm": tuple(site["voxel_size_mm"]), "fov_mm": tuple(site["fov_mm"])})
            for site in cohort["sites"]
        )
        return cls(
            seed=int(cohort["seed"]),
            n_subjects=int(cohort["n_subjects"]),
            modalities=tuple(cohort["modalities"]),
            age_range=tuple(cohort["age_range"]),
            max_rotation_deg=float(cohort["pose"]["max_rotation_deg"]),
            max_translation_mm=float(cohort["pose"]["max_translation_mm"]),
            velocity_rms_mm=float(deformation["velocity_rms_mm"]),
            control_spacing_mm=float(deformation["control_spacing_mm"]),
            ventricle_expansion_mm=float(deformation["ventricle_expansion_mm"]),
            cortex_thinning=float(deformation["cortex_thinning"]),
            head_csf_mm=tuple(head["csf_mm"]),
            head_skull_mm=tuple(head["skull_mm"]),
            head_scalp_mm=tuple(head["scalp_mm"]),
            sites=sites,
            sex_expansion_mm=float(deformation["sex_expansion_mm"]),
        )

    def subject_ids(self) -> list[str]:
        """``sub-001`` … in order."""
        return [f"sub-{i + 1:03d}" for i in range(self.n_subjects)]

    def site_of(self, index: int) -> SiteSpec:
        """The site of the ``index``-th subject (0-based): sites take subjects round robin."""
        return self.sites[index % len(self.sites)]

    def site_sizes(self) -> dict[str, int]:
        """Subjects per site name (round robin), in site order."""
        sizes = {site.name: 0 for site in self.sites}
        for index in range(self.n_subjects):
            sizes[self.site_of(index).name] += 1
        return sizes

    def subject_paths(self, root: str, participant_id: str) -> dict[str, str]:
        """BIDS-like paths of one subject: images under ``root/sub-X/anat``, truth under ``derivatives/truth``.

        Works with Snakemake wildcards too (``participant_id="{subject}"``).
        """
        anat, truth = f"{root}/{participant_id}/anat", f"{root}/derivatives/truth/{participant_id}/anat"
        paths = {modality: f"{anat}/{participant_id}_{modality}.nii.gz" for modality in self.modalities}
        paths |= {
            "dseg": f"{truth}/{participant_id}_dseg.nii.gz",
            "mask": f"{truth}/{participant_id}_desc-brain_mask.nii.gz",
            "bias": f"{truth}/{participant_id}_biasfield.nii.gz",
            "pose": f"{truth}/{participant_id}_pose.json",
        }
        return paths
