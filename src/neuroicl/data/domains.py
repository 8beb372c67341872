"""The slices of one site (a *domain* of ISTN's domain adaptation) and, for a labelled domain, their task labels.

Two readers, so that a target site's labels are never within reach of training: :func:`domain_images` reads a
site's images and nothing else (no label map, no participants table), :func:`labelled_domain` adds the labels of
one task. Images are brain-masked (the paper's inputs are skull-stripped, Sec. 3.2: "Voxels outside the mask are set
to 0") in the store's [0, 1] intensities, channels = the chosen modalities: ``images [N, C, H, W]`` float32.

Labels per task (Sec. 3.2, Task): ``sex`` class ids ``[N]`` (F 0, M 1, :data:`SEXES`), ``age`` years ``[N]``, both
from ``participants.tsv`` and the same for every slice of a subject (a subject without the covariate is left out:
IXI's demographics lack some); ``segmentation`` binary masks ``[N, K, H, W]`` of K classes, each a set of label ids.

Example:
    >>> target = domain_images(store, "siteC", subjects, ["T2w"])
    >>> source = labelled_domain(store, participants, "siteA", subjects, ["T2w"], "age")
    >>> source.images.shape, source.labels.shape
    ((74, 1, 48, 48), (74,))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from neuroicl.data.slice_store import SliceStore
from neuroicl.data.splits import read_splits

#: Class ids of the sex covariate (participants.tsv ``sex``).
SEXES = {"F": 0, "M": 1}
#: The tasks whose labels come from participants.tsv.
COVARIATES = ("sex", "age")


@dataclass(frozen=True)
class DomainImages:
    """Brain-masked slices of one site: ``images [N, C, H, W]`` float32 in [0, 1], ``subjects [N]``."""

    site: str
    images: np.ndarray
    subjects: np.ndarray


@dataclass(frozen=True)
class LabelledDomain(DomainImages):
    """:class:`DomainImages` with one task's ``labels`` (first axis N)."""

    labels: np.ndarray


def site_rows(store: SliceStore, site: str, subjects: Sequence[str],
              slices: tuple[int, int] | None = None) -> np.ndarray:
    """The store rows of ``subjects`` that were scanned at ``site``, in store order, with ``slices`` (first, last
    slice position, ``istn.slices``) those of that slab only (raises if there are none)."""
    index = store.index
    keep = (index["site"] == site).to_numpy() & index["subject"].isin(list(subjects)).to_numpy()
    if slices is not None:
        keep &= index["slice"].between(*slices).to_numpy()
    rows = np.flatnonzero(keep)
    if len(rows) == 0:
        slab = "" if slices is None else f" within istn.slices {list(slices)} (stored: {index['slice'].min()}-" \
            f"{index['slice'].max()})"
        raise ValueError(f"site {site!r}: none of the subjects {sorted(subjects)[:5]}... has a slice in the store"
                         f"{slab} (sites: {sorted(index['site'].unique())})")
    return rows


def domain_images(store: SliceStore, site: str, subjects: Sequence[str], modalities: Sequence[str],
                  slices: tuple[int, int] | None = None) -> DomainImages:
    """The brain-masked ``modalities`` of ``site``'s slices of ``subjects`` (of the slab ``slices``, if given),
    without any label.

    Raises:
        ValueError: a modality the store lacks, or a subject without it (``istn.modalities``).
    """
    missing = [m for m in modalities if m not in store.modalities]
    if missing:
        raise ValueError(f"istn.modalities {missing} are not in the slice store ({store.modalities})")
    rows = site_rows(store, site, subjects, slices)
    available = store.index["modalities"].iloc[rows].fillna("").str.split(",")
    lacking = sorted({s for s, have in zip(store.index["subject"].iloc[rows], available, strict=True)
                      if not set(modalities) <= set(have)})
    if lacking:
        raise ValueError(f"istn.modalities {list(modalities)}: subjects {lacking} lack one of them")
    channels = [store.modalities.index(m) for m in modalities]
    images = np.asarray(store.images[rows][:, channels], dtype=np.float32)
    images *= np.asarray(store.mask[rows], dtype=np.float32)[:, None]
    return DomainImages(site, images, store.index["subject"].iloc[rows].to_numpy(dtype=str))


def covariate(participants: pd.DataFrame, task: str) -> dict[str, float]:
    """Subject -> the task's label from ``participants.tsv`` (``sex``: class id; ``age``: years); subjects
    without one are absent."""
    if task not in COVARIATES:
        raise ValueError(f"covariate task must be one of {COVARIATES}, got {task!r}")
    if task not in participants.columns:
        raise ValueError(f"participants.tsv has no {task!r} column (columns: {list(participants.columns)})")
    values = participants.set_index("participant_id")[task]
    if task == "sex":
        return {s: float(SEXES[v]) for s, v in values.items() if v in SEXES}
    ages = pd.to_numeric(values, errors="coerce")
    return {s: float(v) for s, v in ages.items() if np.isfinite(v)}


def labelled_domain(store: SliceStore, participants: pd.DataFrame | None, site: str, subjects: Sequence[str],
                    modalities: Sequence[str], task: str, classes: Mapping[str, Sequence[int]] | None = None,
                    slices: tuple[int, int] | None = None) -> LabelledDomain:
    """:func:`domain_images` of ``site`` (of the slab ``slices``) with the labels of ``task`` (module docstring). A
    covariate task keeps the subjects that have the covariate; ``segmentation`` needs ``classes`` (name -> label
    ids, at most 3)."""
    if task in COVARIATES:
        if participants is None:
            raise ValueError(f"task {task!r} reads participants.tsv: pass its table")
        known = covariate(participants, task)
        subjects = [s for s in subjects if s in known]
        if not subjects:
            raise ValueError(f"site {site!r}: no subject of the split part has a {task!r} in participants.tsv")
        domain = domain_images(store, site, subjects, modalities, slices)
        labels = np.array([known[s] for s in domain.subjects], dtype=np.int64 if task == "sex" else np.float32)
        return LabelledDomain(domain.site, domain.images, domain.subjects, labels)
    if task != "segmentation":
        raise ValueError(f"ISTN task must be one of {(*COVARIATES, 'segmentation')}, got {task!r}")
    if not classes:
        raise ValueError("segmentation needs its classes (istn.labels)")
    domain = domain_images(store, site, subjects, modalities, slices)
    label_map = np.asarray(store.labels[site_rows(store, site, subjects, slices)])
    masks = np.stack([np.isin(label_map, list(ids)) for ids in classes.values()], axis=1).astype(np.uint8)
    return LabelledDomain(domain.site, domain.images, domain.subjects, masks)


def open_study_data(index: str, participants: str, splits: str) -> tuple[SliceStore, pd.DataFrame, dict]:
    """A study job's inputs: the slice store (by its ``index.tsv``), the participants table and the split."""
    table = pd.read_csv(participants, sep="\t", dtype={"participant_id": str, "site": str, "sex": str})
    return SliceStore.open(str(Path(index).parent)), table, read_splits(splits)
