"""The raw layout every dataset is brought to (BIDS-like, as the embedded cohort), and the kinds of
real dataset the pipeline can fetch and adapt.

A dataset folder ``resources/<dataset>/`` holds ``participants.tsv`` (participant_id, site, age,
sex, source_id), ``dataset_description.json``, ``adapter_report.tsv`` (what was kept or skipped and
why), images ``sub-XXXX/anat/sub-XXXX_<modality>.nii.gz`` and, for labelled kinds, label maps in
the project's label ids (:mod:`neuroicl.data.labels`) under ``derivatives/labels``. Adapters keep
the first ``n_subjects`` valid subjects in source-id order and number them ``sub-0001`` onwards, so
the workflow knows every file before anything is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass

REPORT = "adapter_report.tsv"


@dataclass(frozen=True)
class DatasetKind:
    """What a kind of dataset offers once adapted.

    Attributes:
        modalities: the images every kept subject has, in channel order.
        labelled: whether label maps (``dseg``) exist.
        archives: the registry entries (``resources/datasets/registry.yaml``) the adapter reads.
    """

    modalities: tuple[str, ...]
    labelled: bool
    archives: tuple[str, ...]


KINDS: dict[str, DatasetKind] = {
    "ixi": DatasetKind(("T1w", "T2w", "PDw"), False, ("ixi_t1", "ixi_t2", "ixi_pd", "ixi_demographics")),
    "oasis1": DatasetKind(("T1w",), True, ("neurite_oasis",)),
    "msd_brain_tumour": DatasetKind(("FLAIR", "T1w", "T1Gd", "T2w"), False, ("msd_task01_brain_tumour",)),
}


def participant_ids(n_subjects: int) -> list[str]:
    """``sub-0001`` … ``sub-<n>``: the ids an adapter gives the subjects it keeps."""
    return [f"sub-{index:04d}" for index in range(1, n_subjects + 1)]


def subject_paths(
    root: str, participant_id: str, modalities: tuple[str, ...] | list[str], labelled: bool
) -> dict[str, str]:
    """Image paths (modality → file) and, if ``labelled``, the label map (key ``dseg``) of one subject.

    Works with Snakemake wildcards too (``participant_id="{subject}"``).
    """
    anat = f"{root}/{participant_id}/anat"
    paths = {modality: f"{anat}/{participant_id}_{modality}.nii.gz" for modality in modalities}
    if labelled:
        paths["dseg"] = f"{root}/derivatives/labels/{participant_id}/anat/{participant_id}_dseg.nii.gz"
    return paths
