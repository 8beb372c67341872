"""What every adapter shares: volumes, skipped subjects, and the atomic writer of the common layout.

An adapter yields :class:`Candidate` s in source-id order; loading one returns a :class:`Subject`
or raises :class:`Skip` with the reason. :func:`build` keeps the first ``n_subjects`` valid ones,
numbers them ``sub-0001``… (:func:`neuroicl.plan.layout.participant_ids`), and writes the layout
of :mod:`neuroicl.plan.layout` into a hidden sibling folder that replaces ``out_root`` only when
everything is written — a failed adapter leaves nothing half-written.

Shapes: images and label maps are ``[X, Y, Z]`` with a ``[4, 4]`` voxel→world (mm) affine.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from neuroicl.core.io import write_json, write_nifti, write_tsv
from neuroicl.datasets.errors import AdapterError
from neuroicl.plan.layout import KINDS, REPORT, DatasetKind, participant_ids, subject_paths

NA = "n/a"
log = logging.getLogger(__name__)


class Skip(Exception):
    """A subject cannot be kept; the message is the reason written to ``adapter_report.tsv``."""


@dataclass(frozen=True)
class Volume:
    """One image: ``data [X, Y, Z]`` in its stored dtype and its ``affine [4, 4]``."""

    data: np.ndarray
    affine: np.ndarray

    def same_grid(self, other: Volume) -> bool:
        return self.data.shape[:3] == other.data.shape[:3] and np.allclose(self.affine, other.affine, atol=1e-3)

    def describe(self) -> str:
        sizes, origin = (
            np.round(nib.affines.voxel_sizes(self.affine), 3).tolist(),
            np.round(self.affine[:3, 3], 2).tolist(),
        )
        return f"shape {self.data.shape}, voxel size {sizes} mm, origin {origin} mm"


@dataclass
class Subject:
    """A valid subject: modality → image, the label map in project ids (labelled kinds), demographics."""

    images: dict[str, Volume]
    dseg: Volume | None = None
    site: str | None = None
    age: float | None = None
    sex: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Candidate:
    """A subject of the source dataset; ``load()`` returns a :class:`Subject` or raises :class:`Skip`."""

    source_id: str
    load: Callable[[], Subject]


@dataclass(frozen=True)
class AdapterResult:
    """What :func:`build` wrote: ``kept`` (participant_id, source_id) and ``skipped`` (source_id, reason)."""

    out_root: Path
    kept: tuple[tuple[str, str], ...]
    skipped: tuple[tuple[str, str], ...]


def natural_key(text: str) -> tuple:
    """Sort key that orders embedded numbers numerically (``BRATS_9`` before ``BRATS_10``)."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


def load_volume(path: Path, ndim: int = 3) -> Volume:
    """Read ``path`` with its voxels checked; any problem raises :class:`Skip` naming the file."""
    try:
        image = nib.load(path)
        data = np.asanyarray(image.dataobj)
    except Exception as error:  # nibabel raises many types for broken files
        raise Skip(f"cannot read {path.name} ({type(error).__name__}: {error})") from error
    if data.ndim != ndim or min(data.shape[:3]) < 2:
        raise Skip(f"{path.name} has shape {data.shape}; a {ndim}D image is expected")
    if np.issubdtype(data.dtype, np.floating) and not np.isfinite(data).all():
        raise Skip(f"{path.name} has {np.count_nonzero(~np.isfinite(data))} NaN/Inf voxels")
    if not data.any():
        raise Skip(f"{path.name} is all zero")
    return Volume(data, np.asarray(image.affine, dtype=np.float64))


def build(
    kind: str,
    candidates: Iterable[Candidate],
    out_root: str | os.PathLike,
    n_subjects: int,
    description: dict,
    spec: DatasetKind | None = None,
) -> AdapterResult:
    """Write the first ``n_subjects`` valid candidates of a ``kind`` dataset to ``out_root``.

    ``spec`` (modalities, labelled) defaults to ``KINDS[kind]``; a local BIDS folder passes its own.

    Raises:
        AdapterError: fewer than ``n_subjects`` valid subjects (the message lists why others were
            skipped); nothing is written.
    """
    spec = spec or KINDS[kind]
    if n_subjects < 1:
        raise AdapterError(f"{kind}: n_subjects must be ≥ 1, got {n_subjects}")
    out_root = Path(out_root)
    foreign = _foreign_files(out_root)
    if foreign:
        raise AdapterError(
            f"{kind}: {out_root} holds files an adapter did not write ({', '.join(map(str, foreign[:5]))}); "
            "refusing to replace it. Give the dataset another name or move those files away."
        )
    for pattern in (f".{out_root.name}.adapt-*", f".{out_root.name}.old-*"):  # leftovers of a killed run
        for stale in out_root.parent.glob(pattern):
            shutil.rmtree(stale, ignore_errors=True)
    temporary = out_root.with_name(f".{out_root.name}.adapt-{os.getpid()}")
    temporary.mkdir(parents=True)
    ids, kept, skipped, report, participants = participant_ids(n_subjects), [], [], [], []
    try:
        for candidate in candidates:
            if len(kept) == n_subjects:
                break
            try:
                subject = candidate.load()
                _check(kind, spec, subject)
            except Skip as reason:
                skipped.append((candidate.source_id, str(reason)))
                report.append({"source_id": candidate.source_id, "status": "skipped", "reason": str(reason)})
                log.info("%s: skipped %s: %s", kind, candidate.source_id, reason)
                continue
            participant = ids[len(kept)]
            _write_subject(temporary, participant, subject, spec.modalities, spec.labelled)
            kept.append((participant, candidate.source_id))
            report.append({"source_id": candidate.source_id, "status": "kept", "reason": "; ".join(subject.notes)})
            participants.append(_participant(participant, candidate.source_id, subject))
            log.info("%s: kept %s as %s", kind, candidate.source_id, participant)
        if len(kept) < n_subjects:
            listed = "; ".join(f"{source}: {reason}" for source, reason in skipped[:10]) or "none"
            raise AdapterError(
                f"{kind}: only {len(kept)} valid subjects found, {n_subjects} requested ({len(skipped)} skipped — "
                f"{listed}). Lower the number of subjects for this dataset in the config, or check the downloaded "
                "files."
            )
        write_tsv(
            temporary / "participants.tsv",
            pd.DataFrame(participants, columns=["participant_id", "site", "age", "sex", "source_id"]),
        )
        write_tsv(temporary / REPORT, pd.DataFrame(report, columns=["source_id", "status", "reason"]))
        write_json(temporary / "dataset_description.json", description)
        _publish(temporary, out_root)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return AdapterResult(out_root, tuple(kept), tuple(skipped))


def _check(kind: str, spec: DatasetKind, subject: Subject) -> None:
    """Guard the contract: the kind's modalities, a label map iff labelled, one grid for all."""
    if tuple(subject.images) != spec.modalities or (subject.dseg is not None) != spec.labelled:
        raise AdapterError(
            f"{kind} adapter returned {list(subject.images)} (labels: {subject.dseg is not None}); the kind needs "
            f"{list(spec.modalities)} (labels: {spec.labelled})"
        )
    volumes = {**subject.images, **({"dseg": subject.dseg} if subject.dseg is not None else {})}
    first_name, first = next(iter(volumes.items()))
    for name, volume in volumes.items():
        if volume.data.ndim != 3 or not volume.same_grid(first):
            raise Skip(f"{name} ({volume.describe()}) and {first_name} ({first.describe()}) are not on one grid")


def _write_subject(root: Path, participant: str, subject: Subject, modalities: tuple[str, ...], labelled: bool) -> None:
    paths = subject_paths(str(root), participant, modalities, labelled)
    for modality in modalities:
        volume = subject.images[modality]
        write_nifti(paths[modality], volume.data, volume.affine, dtype=volume.data.dtype)
    if labelled:
        write_nifti(paths["dseg"], subject.dseg.data.astype(np.uint8), subject.dseg.affine, dtype=np.uint8)


def _participant(participant: str, source_id: str, subject: Subject) -> dict:
    return {
        "participant_id": participant,
        "site": subject.site or NA,
        "age": NA if subject.age is None else f"{subject.age:.2f}",
        "sex": subject.sex or NA,
        "source_id": source_id,
    }


def _foreign_files(out_root: Path) -> list[Path]:
    """Files under ``out_root`` outside the layout an adapter writes (which it may replace)."""
    if not out_root.is_dir():
        return []
    ours = {"participants.tsv", "dataset_description.json", REPORT}
    foreign = []
    for path in sorted(out_root.rglob("*")):
        parts = path.relative_to(out_root).parts
        if path.is_file() and not (
            parts[0] in ours or parts[0].startswith("sub-") or parts[:2] == ("derivatives", "labels")
        ):
            foreign.append(path)
    return foreign


def _publish(temporary: Path, out_root: Path) -> None:
    """Move the finished folder onto ``out_root`` (a previous one, e.g. empty folders Snakemake made, is replaced)."""
    if not out_root.exists():
        os.replace(temporary, out_root)
        return
    previous = out_root.with_name(f".{out_root.name}.old-{os.getpid()}")
    os.replace(out_root, previous)
    os.replace(temporary, out_root)
    shutil.rmtree(previous, ignore_errors=True)
