"""Your own local BIDS folder (``kind: bids``) brought to the common layout (:mod:`neuroicl.plan.layout`).

Read: ``<root>/dataset_description.json`` (required by BIDS), ``sub-<label>/[ses-<label>/]anat/`` images with
the requested suffixes (``T1w``, ``T2w``, ``PDw``, ``FLAIR``; ``.nii.gz`` or ``.nii``), for a labelled dataset a
label map ``derivatives/<pipeline>/sub-<label>/[ses-<label>/]anat/*_dseg.nii[.gz]`` with its look-up table
(``*_dseg.tsv``, columns ``index`` and ``name``), and the optional ``participants.tsv`` (columns ``site``,
``age``, ``sex`` where present). Names are checked against the BIDS schema (:mod:`.bids_names`).

Rules (docs/datasets.md, "Your own BIDS dataset"):

- subjects in natural order of their folder; one session per subject — the first (natural order) that has
  every requested modality (and a label map when labelled); the others are noted, not used (a subject's
  sessions never land in different splits);
- a subject with an anat file (or label map) whose name breaks a BIDS rule is skipped, the reason naming the
  file and the rule; so is one missing a modality or label map, or with an unreadable image;
- several files of one modality in a session: the one with the fewest entities, then the lowest ``run``;
- the first modality's grid is the subject's grid: other modalities on another grid are resampled onto it
  (linear, by their header affines, as IXI); a label map must lie on it;
- the look-up table: the label map's own ``.tsv`` sidecar, else the nearest ``*dseg.tsv`` up to the
  derivative's root whose entities are a subset of the map's (BIDS inheritance principle);
- label names map onto the project's labels (:mod:`neuroicl.data.labels`) case-insensitively, or as
  FreeSurfer names (:func:`neuroicl.datasets.adapters.oasis.project_label`); ``background``/``unknown`` → 0;
  any other name → 0, listed in the report (so a class we do not score never becomes a wrong class).
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from neuroicl.data.labels import BY_NAME
from neuroicl.datasets.adapters import bids_names, oasis
from neuroicl.datasets.adapters.bids_names import NamingError
from neuroicl.datasets.adapters.common import (
    AdapterResult,
    Candidate,
    Skip,
    Subject,
    Volume,
    build,
    load_volume,
    natural_key,
)
from neuroicl.datasets.adapters.ixi import MIN_COVERAGE, field_coverage, resample_onto
from neuroicl.datasets.errors import AdapterError
from neuroicl.plan.layout import DatasetKind

KIND = "bids"
IMAGE_EXTENSIONS = (".nii.gz", ".nii")
PROJECT_BY_LOWER = {name.lower(): label.index for name, label in BY_NAME.items()}
SEX = {"m": "M", "male": "M", "f": "F", "female": "F"}


def adapt_bids(
    path: str | os.PathLike, out_root: str | os.PathLike, n_subjects: int, modalities: list[str], labelled: bool
) -> AdapterResult:
    """Bring the BIDS folder ``path`` to ``out_root`` in the common layout (as :func:`..adapters.adapt` does).

    Raises:
        AdapterError: ``path`` is not a BIDS folder (no ``dataset_description.json``), ``participants.tsv``
            breaks its rules, or fewer than ``n_subjects`` subjects are valid (the reasons listed).
    """
    root = Path(path)
    description_file = root / "dataset_description.json"
    if not description_file.is_file():
        raise AdapterError(
            f"{KIND}: {description_file} does not exist; BIDS requires dataset_description.json at the dataset root "
            f"(BIDS {bids_names.version()} schema, rules.files.common.core.dataset_description)"
        )
    source = json.loads(description_file.read_text())
    participants = read_participants(root / "participants.tsv")
    spec = DatasetKind(tuple(modalities), labelled, ())
    description = {
        "Name": f"{source.get('Name', root.name)} (local BIDS folder), adapted by neuroicl",
        "BIDSVersion": "1.9.0",
        "DatasetType": "raw",
        "GeneratedBy": [{"Name": "neuroicl", "Description": f"neuroicl.datasets.adapters.bids from {root.resolve()}"}],
        "SourceDatasets": [{"URL": root.resolve().as_uri()}],
        **{key: source[key] for key in ("License", "HowToAcknowledge", "ReferencesAndLinks") if key in source},
    }
    folders = sorted((p for p in root.glob("sub-*") if p.is_dir()), key=lambda p: natural_key(p.name))
    candidates = (
        Candidate(folder.name, functools.partial(_load, root, folder, spec, participants))
        for folder in folders
    )
    return build(KIND, candidates, out_root, n_subjects, description, spec)


def read_participants(path: Path) -> dict[str, dict[str, str]] | None:
    """``participant_id → {site, age, sex}`` (the columns present) from ``participants.tsv``; None if absent.

    Raises:
        AdapterError: the file has no ``participant_id`` column (BIDS: its first, required column).
    """
    if not path.is_file():
        return None
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    if "participant_id" not in table.columns:
        raise AdapterError(
            f"{KIND}: {path} has no participant_id column (BIDS {bids_names.version()}: participants.tsv REQUIRES "
            "participant_id as its first column); columns found: " + ", ".join(table.columns)
        )
    columns = [column for column in ("site", "age", "sex") if column in table.columns]
    return {row["participant_id"]: {column: row[column] for column in columns} for _, row in table.iterrows()}


def project_label(name: str) -> int | None:
    """The project id of a look-up-table name (0 for background), or None if the project has no such class."""
    lower = name.strip().lower()
    if lower in PROJECT_BY_LOWER:
        return PROJECT_BY_LOWER[lower]
    try:
        return oasis.project_label(name.strip())
    except AdapterError:
        return None


def _load(root: Path, folder: Path, spec: DatasetKind, participants: dict[str, dict[str, str]] | None) -> Subject:
    try:
        sessions = _sessions(root, folder)
        chosen, images, dseg = _choose(root, folder, sessions, spec)
    except NamingError as error:
        raise Skip(str(error)) from error
    notes = [f"session {chosen}"] if chosen else []
    unused = [name for name in sessions if name != chosen]
    notes += [f"not used: {', '.join(unused)}"] if unused else []
    volumes = {modality: load_volume(path) for modality, path in images.items()}
    reference_name, reference = next(iter(volumes.items()))
    for modality, volume in volumes.items():
        if not volume.same_grid(reference):
            coverage = field_coverage(volume, reference)
            if coverage < MIN_COVERAGE:
                raise Skip(f"{images[modality].name} covers {coverage:.0%} of {images[reference_name].name}'s field "
                           f"of view (at least {MIN_COVERAGE:.0%} needed)")
            volumes[modality] = resample_onto(volume, reference)
            notes.append(f"{modality} resampled onto the {reference_name} grid")
    labels = None
    if dseg is not None:
        labels, unmapped = _labels(root, dseg, reference)
        notes += [f"labels not in the project's scheme, set to 0: {', '.join(unmapped)}"] if unmapped else []
    site, age, sex = _demographics(participants, folder.name, notes)
    return Subject(volumes, dseg=labels, site=site, age=age, sex=sex, notes=notes)


def _sessions(root: Path, folder: Path) -> dict[str, Path]:
    """Session name ("" when the subject has no ``ses-`` folders) → its folder; every anat name checked."""
    bids_names.folder_label(folder.relative_to(root))
    found = sorted((p for p in folder.glob("ses-*") if p.is_dir()), key=lambda p: natural_key(p.name))
    for session in found:
        bids_names.folder_label(session.relative_to(root))
    sessions = {path.name: path for path in found} or {"": folder}
    for session in sessions.values():
        for path in sorted((session / "anat").glob("*")):
            if not path.name.startswith("."):
                bids_names.anat_name(path.relative_to(root))
    return sessions


def _choose(
    root: Path, folder: Path, sessions: dict[str, Path], spec: DatasetKind
) -> tuple[str, dict[str, Path], Path | None]:
    """The first session with every modality (and a label map if labelled): its images and label map."""
    held = []
    for name, session in sessions.items():
        images = {modality: _pick(session / "anat", root, modality) for modality in spec.modalities}
        dseg = _dseg(root, session.relative_to(root)) if spec.labelled else None
        if all(images.values()) and (dseg is not None or not spec.labelled):
            return name, images, dseg
        have = [modality for modality, path in images.items() if path] + (["dseg"] if dseg else [])
        held.append(f"{name or folder.name} has {', '.join(have) or 'none'}")
    needed = list(spec.modalities) + (["a label map derivatives/*/…_dseg.nii.gz"] if spec.labelled else [])
    raise Skip(f"no session with every one of {', '.join(needed)} ({'; '.join(held)})")


def _pick(anat: Path, root: Path, suffix: str) -> Path | None:
    """The image of ``suffix`` in ``anat``: fewest entities, then lowest run, then name."""
    found = []
    for path in sorted(anat.glob(f"*_{suffix}.*")):
        name = bids_names.anat_name(path.relative_to(root))
        if name.suffix == suffix and name.extension in IMAGE_EXTENSIONS:
            found.append((len(name.entities), int(name.entities.get("run", 0)), path.name, path))
    return min(found)[-1] if found else None


def _dseg(root: Path, session: Path) -> Path | None:
    """The first label map of ``session`` over the derivative folders (sorted), names checked."""
    for derivative in sorted(p for p in (root / "derivatives").glob("*") if p.is_dir()):
        for path in sorted((derivative / session / "anat").glob("*_dseg.*")):
            name = bids_names.dseg_name(path.relative_to(derivative))
            if name.extension in IMAGE_EXTENSIONS:
                return path
    return None


def _labels(root: Path, path: Path, reference: Volume) -> tuple[Volume, list[str]]:
    """The label map in project ids on the reference grid, and the table's names set to 0."""
    labels = load_volume(path)
    if not labels.same_grid(reference):
        raise Skip(f"{path.name} ({labels.describe()}) is not on the grid of the first modality "
                   f"({reference.describe()})")
    table_path = _label_table(root, path)
    table = pd.read_csv(table_path, sep="\t", dtype=str, keep_default_na=False)
    if not {"index", "name"} <= set(table.columns) or not table["index"].str.fullmatch(r"\d+").all():
        raise Skip(f"{table_path.name} needs integer 'index' and a 'name' column (BIDS derivatives, common "
                   f"image-derived labels), has {list(table.columns)}")
    pairs = zip(table["index"], table["name"], strict=True)
    mapping = {int(index): (name, project_label(name)) for index, name in pairs}
    values = np.unique(labels.data)
    undefined = [int(v) for v in values if v != np.round(v) or int(v) not in mapping]
    if undefined:
        raise Skip(f"{path.name} has values {undefined} that {table_path.name} does not define")
    lut = np.zeros(max(mapping) + 1, dtype=np.uint8)
    for index, (_, project) in mapping.items():
        lut[index] = project or 0
    unmapped = sorted({name for value in values for name, project in [mapping[int(value)]] if project is None})
    return Volume(lut[labels.data.astype(np.int64)], labels.affine), unmapped


def _label_table(root: Path, path: Path) -> Path:
    """The look-up table of label map ``path``: its sidecar, else the nearest inherited ``*dseg.tsv``."""
    sidecar = path.with_name(path.name.split(".")[0] + ".tsv")
    if sidecar.is_file():
        return sidecar
    derivative = next(parent for parent in path.parents if parent.parent.name == "derivatives")
    entities = bids_names.dseg_name(path.relative_to(derivative)).entities.items()
    for folder in [parent for parent in path.parents if parent.is_relative_to(derivative)]:
        fitting = [
            table for table in sorted(folder.glob("*dseg.tsv"))
            if table.name == "dseg.tsv" or bids_names.parse(table).entities.items() <= entities
        ]
        if len(fitting) > 1:
            raise Skip(f"{path.name}: several look-up tables apply ({', '.join(t.name for t in fitting)})")
        if fitting:
            return fitting[0]
    raise Skip(f"{path.relative_to(root)} has no look-up table (a *_dseg.tsv sidecar or an inherited dseg.tsv "
               "with index and name columns); its labels cannot be mapped by name")


def _demographics(
    participants: dict[str, dict[str, str]] | None, subject: str, notes: list[str]
) -> tuple[str | None, float | None, str | None]:
    """Site, age and sex of ``subject`` (None = n/a); a subject missing from an existing table is noted."""
    if participants is None or subject not in participants:
        notes += [] if participants is None else ["not in participants.tsv: site, age and sex n/a"]
        return None, None, None
    row = participants[subject]
    site = row.get("site") or None
    site = None if site == "n/a" else site
    try:
        age = float(row["age"]) if row.get("age") not in (None, "", "n/a") else None
    except ValueError:
        notes.append(f"age {row['age']!r} is not a number: n/a")
        age = None
    sex = SEX.get(row.get("sex", "").strip().lower())
    return site, age, sex

