"""OASIS-1 as prepared for neurite (Hoopes & Dalca): 414 T1w scans with FreeSurfer/SAMSEG label maps.

Source (registry entry ``neurite_oasis``): the unpacked ``neurite-oasis.v1.0.tar``, whose top level
holds ``seg35_labels.txt`` (FreeSurfer colour table of the 35-class maps), ``subjects.txt`` and one
folder per subject, ``OASIS_OAS1_0001_MR1/``, with ``orig.nii.gz``/``norm.nii.gz`` (raw / skull-stripped
and bias-corrected, scanner space, 256³), ``seg35.nii.gz``/``seg4.nii.gz`` (labels on that grid), their
``aligned_*`` versions in an affinely aligned template space (160 × 192 × 224) and 2D ``slice_*`` files
(https://github.com/adalca/medical-datasets/blob/master/neurite-oasis.md).

Kept: :data:`IMAGE` (the raw T1w with the skull, so skull stripping and registration stay the
pipeline's own steps) and :data:`LABELS` mapped to the project's ids (:mod:`neuroicl.data.labels`)
by structure *name* through :data:`FREESURFER_TO_PROJECT`, so the numbering inside the colour table
does not matter. Merged as the project's Neuromorphometrics mapping does: inferior lateral ventricle
and choroid plexus → lateral ventricle, vessel → cerebral white matter. A name with no mapping stops
the adapter (extend the table); a subject with a missing file, image and labels on different grids,
or label values the colour table does not define is skipped.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from neuroicl.data.labels import BY_NAME
from neuroicl.datasets.adapters.common import Candidate, Skip, Subject, Volume, load_volume, natural_key
from neuroicl.datasets.errors import AdapterError

NAME = "OASIS-1 (neurite-oasis v1.0 release), adapted by neuroicl"
IMAGE = "orig.nii.gz"
LABELS = "seg35.nii.gz"
COLOUR_TABLE = "seg35_labels.txt"
SITE = "WashU"  # one scanner: Siemens Vision 1.5 T, Washington University
SUBJECT_FOLDER = re.compile(r"^OASIS_(OAS1_\d+_MR\d+)$")
BACKGROUND = ("unknown", "background")
# FreeSurfer structure (lower case, side removed) → project label (side added back for lateral ones)
FREESURFER_TO_PROJECT = {
    "cerebral-white-matter": "Cerebral-White-Matter",
    "cerebral-cortex": "Cerebral-Cortex",
    "lateral-ventricle": "Lateral-Ventricle",
    "inf-lat-vent": "Lateral-Ventricle",
    "choroid-plexus": "Lateral-Ventricle",
    "vessel": "Cerebral-White-Matter",
    "cerebellum-white-matter": "Cerebellum-White-Matter",
    "cerebellum-cortex": "Cerebellum-Cortex",
    "thalamus": "Thalamus",
    "thalamus-proper": "Thalamus",
    "caudate": "Caudate",
    "putamen": "Putamen",
    "pallidum": "Pallidum",
    "hippocampus": "Hippocampus",
    "amygdala": "Amygdala",
    "accumbens": "Accumbens",
    "accumbens-area": "Accumbens",
    "ventraldc": "Ventral-DC",
    "ventral-dc": "Ventral-DC",
    "3rd-ventricle": "3rd-Ventricle",
    "4th-ventricle": "4th-Ventricle",
    "brain-stem": "Brain-Stem",
    "csf": "CSF",
    "optic-chiasm": "Optic-Chiasm",
}


def candidates(sources: dict[str, Path]) -> Iterator[Candidate]:
    """OASIS subjects (``OAS1_0001_MR1``…) in source-id order, each loadable as a :class:`Subject`."""
    root = sources["neurite_oasis"]
    folders = _subject_folders(root)
    lookup = label_lookup(read_colour_table(folders[0].parent / COLOUR_TABLE))
    for folder in sorted(folders, key=lambda path: natural_key(path.name)):
        source_id = SUBJECT_FOLDER.match(folder.name)[1]
        yield Candidate(source_id, functools.partial(_load, folder, lookup))


def read_colour_table(path: Path) -> dict[int, str]:
    """``id → name`` from a FreeSurfer colour table (``id name r g b a`` per line, ``#`` comments)."""
    if not path.is_file():
        raise AdapterError(
            f"oasis1: {path} does not exist; the neurite-oasis archive has it at its top level — is the download "
            "complete?"
        )
    table = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) < 2 or not fields[0].isdigit():
            raise AdapterError(f"oasis1: {path} line {number} is not 'id name r g b a': {line!r}")
        table[int(fields[0])] = fields[1]
    if not table:
        raise AdapterError(f"oasis1: {path} defines no labels")
    return table


def label_lookup(colour_table: dict[int, str]) -> np.ndarray:
    """``lut[source id] → project id``; −1 where the colour table defines nothing."""
    lut = np.full(max(colour_table) + 1, -1, dtype=np.int16)
    for index, name in colour_table.items():
        lut[index] = project_label(name)
    return lut


def project_label(name: str) -> int:
    """The project label id of a FreeSurfer structure name (0 for background)."""
    lower = name.lower()
    if lower in BACKGROUND:
        return 0
    side, _, structure = lower.partition("-")
    if side in ("left", "right") and structure in FREESURFER_TO_PROJECT:
        return BY_NAME[f"{side.capitalize()}-{FREESURFER_TO_PROJECT[structure]}"].index
    if lower in FREESURFER_TO_PROJECT and FREESURFER_TO_PROJECT[lower] in BY_NAME:
        return BY_NAME[FREESURFER_TO_PROJECT[lower]].index
    raise AdapterError(
        f"oasis1: label {name!r} of {COLOUR_TABLE} has no project label; add it to "
        "neuroicl.datasets.adapters.oasis.FREESURFER_TO_PROJECT (and to neuroicl.data.labels.LABELS if it is a new "
        "class)"
    )


def _subject_folders(root: Path) -> list[Path]:
    for base in (root, *sorted(path for path in root.iterdir() if path.is_dir())):
        folders = [path for path in base.iterdir() if path.is_dir() and SUBJECT_FOLDER.match(path.name)]
        if folders:
            return folders
    raise AdapterError(
        f"oasis1: no OASIS_OAS1_*_MR* subject folders in {root}; is it the unpacked neurite-oasis.v1.0.tar?"
    )


def _load(folder: Path, lookup: np.ndarray) -> Subject:
    for name in (IMAGE, LABELS):
        if not (folder / name).is_file():
            raise Skip(f"no {name} in {folder.name}")
    image, labels = load_volume(folder / IMAGE), load_volume(folder / LABELS)
    if not image.same_grid(labels):
        raise Skip(f"{IMAGE} ({image.describe()}) and {LABELS} ({labels.describe()}) are not on one grid")
    values = np.unique(labels.data)
    if not np.array_equal(values, np.round(values)):
        raise Skip(f"{LABELS} has non-integer values; a label map is expected")
    values = values.astype(np.int64)
    undefined = [int(value) for value in values if value < 0 or value >= lookup.size or lookup[value] < 0]
    if undefined:
        raise Skip(f"{LABELS} has values {undefined} that {COLOUR_TABLE} does not define")
    mapped = lookup[labels.data.astype(np.int64)].astype(np.uint8)
    return Subject({"T1w": image}, dseg=Volume(mapped, labels.affine), site=SITE)
