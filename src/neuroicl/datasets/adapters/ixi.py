"""IXI: T1-, T2- and PD-weighted scans of ~580 healthy adults from three London sites.

Sources (registry entries): ``ixi_t1``, ``ixi_t2``, ``ixi_pd`` — the unpacked ``IXI-T1.tar`` etc.,
whose files sit at the top level and are named ``IXI002-Guys-0828-T1.nii.gz`` (subject, site
``Guys``/``HH``/``IOP``, scan number, modality) — and ``ixi_demographics``, the spreadsheet
``IXI.xls`` (sheet ``Table``: ``IXI_ID``, ``SEX_ID (1=m, 2=f)``, …, ``AGE``; some IDs have duplicate
rows; 0 or empty means unknown). A CSV/TSV export of that sheet is read too.

Kept: subjects with all three modalities, T2 and PD on one grid, and T2/PD covering at least half
of the T1 field of view. IXI acquired T1 (sagittal) separately from the dual-echo T2/PD (axial), so
their grids differ in every subject; the preprocessing needs one grid per subject, so T2 and PD are
resampled onto the T1 grid by their header affines (linear; same session, no registration — residual
head motion between the scans is not corrected). Demographics: age (years, 2 decimals) and sex
(``M``/``F``) from the spreadsheet; missing or conflicting duplicate values become ``n/a`` and the
report says so.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage

from neuroicl.datasets.adapters.common import Candidate, Skip, Subject, Volume, load_volume, natural_key
from neuroicl.datasets.errors import AdapterError

NAME = "IXI (Information eXtraction from Images), adapted by neuroicl"
MODALITIES = {"T1": ("ixi_t1", "T1w"), "T2": ("ixi_t2", "T2w"), "PD": ("ixi_pd", "PDw")}
FILE_NAME = re.compile(r"^(IXI\d+)-(Guys|HH|IOP)-(\d+)-(T1|T2|PD)\.nii\.gz$")
MIN_COVERAGE = 0.5
SEXES = {1: "M", 2: "F"}
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Demographics:
    """One IXI_ID's age and sex (None = unknown) and what was wrong with them, if anything."""

    age: float | None
    sex: str | None
    notes: tuple[str, ...] = ()


def candidates(sources: dict[str, Path]) -> Iterator[Candidate]:
    """IXI subjects (``IXI002``…) in source-id order, each loadable as a :class:`Subject`."""
    files = {modality: _index(sources[entry], modality, entry) for modality, (entry, _) in MODALITIES.items()}
    demographics = read_demographics(sources["ixi_demographics"])
    for source_id in sorted(set().union(*files.values()), key=natural_key):
        paths = {modality: files[modality].get(source_id) for modality in MODALITIES}
        yield Candidate(source_id, functools.partial(_load, source_id, paths, demographics.get(source_id)))


def read_demographics(path: Path) -> dict[str, Demographics]:
    """``IXI002`` → :class:`Demographics` from ``IXI.xls`` (sheet ``Table``) or a CSV/TSV export of it."""
    table = _read_table(path)
    sex_column = next((column for column in table.columns if str(column).upper().startswith("SEX_ID")), None)
    if "IXI_ID" not in table.columns or "AGE" not in table.columns or sex_column is None:
        raise AdapterError(
            f"{path}: the IXI demographics need columns IXI_ID, SEX_ID (1=m, 2=f) and AGE; found {list(table.columns)}"
        )
    ids = pd.to_numeric(table["IXI_ID"], errors="coerce")
    ages, sexes = pd.to_numeric(table["AGE"], errors="coerce"), pd.to_numeric(table[sex_column], errors="coerce")
    result = {}
    for ixi_id in sorted(ids.dropna().unique()):
        rows = ids == ixi_id
        age_values = sorted({round(float(age), 2) for age in ages[rows] if age > 0})
        sex_values = sorted({SEXES[int(sex)] for sex in sexes[rows] if sex in SEXES})
        notes = []
        for what, values in (("age", age_values), ("sex", sex_values)):
            if not values:
                notes.append(f"{what} missing in {path.name}")
            elif len(values) > 1:
                notes.append(f"conflicting {what} values {values} in {path.name}")
        result[f"IXI{int(ixi_id):03d}"] = Demographics(
            age_values[0] if len(age_values) == 1 else None,
            sex_values[0] if len(sex_values) == 1 else None,
            tuple(notes),
        )
    return result


def resample_onto(source: Volume, target: Volume) -> Volume:
    """``source`` resampled (linear, 0 outside) onto ``target``'s grid through both header affines."""
    voxel_map = np.linalg.inv(source.affine) @ target.affine
    data = ndimage.affine_transform(
        source.data.astype(np.float32),
        voxel_map[:3, :3],
        voxel_map[:3, 3],
        output_shape=target.data.shape,
        order=1,
        mode="constant",
        cval=0.0,
    )
    if np.issubdtype(source.data.dtype, np.integer):
        info = np.iinfo(source.data.dtype)
        data = np.clip(np.rint(data), info.min, info.max)
    return Volume(data.astype(source.data.dtype), target.affine.copy())


def field_coverage(source: Volume, target: Volume, samples_per_axis: int = 24) -> float:
    """Fraction of ``target``'s voxel centres (a regular sample) that lie inside ``source``'s volume."""
    shape = np.asarray(target.data.shape[:3])
    axes = [np.linspace(0, n - 1, min(n, samples_per_axis)) for n in shape]
    points = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    voxel_map = np.linalg.inv(source.affine) @ target.affine
    mapped = points @ voxel_map[:3, :3].T + voxel_map[:3, 3]
    inside = np.all((mapped >= -0.5) & (mapped <= np.asarray(source.data.shape[:3]) - 0.5), axis=1)
    return float(inside.mean())


def _index(folder: Path, modality: str, entry: str) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob(f"*-{modality}.nii.gz")):
        match = FILE_NAME.match(path.name)
        if path.name.startswith(".") or match is None:
            log.warning("ixi: ignoring %s (not an IXI file name)", path)
            continue
        if match[1] in found:
            raise AdapterError(
                f"ixi: {match[1]} has two {modality} images, {found[match[1]]} and {path}; remove one and rerun"
            )
        found[match[1]] = path
    if not found:
        raise AdapterError(
            f"ixi: no IXI*-{modality}.nii.gz files under {folder}; is it the unpacked IXI-{modality}.tar (registry "
            f"entry {entry})?"
        )
    return found


def _load(source_id: str, paths: dict[str, Path | None], demographics: Demographics | None) -> Subject:
    missing = [modality for modality, path in paths.items() if path is None]
    if missing:
        raise Skip(f"no {' or '.join(missing)} image (not in {', '.join(f'IXI-{m}.tar' for m in missing)})")
    sites = {FILE_NAME.match(path.name)[2] for path in paths.values()}
    if len(sites) > 1:
        raise Skip(f"file names disagree on the site: {sorted(path.name for path in paths.values())}")
    t1, t2, pd_ = (load_volume(paths[modality]) for modality in MODALITIES)
    if not t2.same_grid(pd_):
        raise Skip(
            f"T2 ({t2.describe()}) and PD ({pd_.describe()}) are not on one grid, although IXI acquires them together"
        )
    notes = []
    if not t2.same_grid(t1):
        coverage = field_coverage(t2, t1)
        if coverage < MIN_COVERAGE:
            raise Skip(
                f"T2/PD cover {coverage:.0%} of the T1 field of view (at least {MIN_COVERAGE:.0%} needed); are the "
                "header affines wrong?"
            )
        t2, pd_ = resample_onto(t2, t1), resample_onto(pd_, t1)
        notes.append(f"T2w and PDw resampled onto the T1w grid by header affines (coverage {coverage:.0%})")
    if demographics is None:
        demographics = Demographics(None, None, ("no row in the demographics spreadsheet: age and sex n/a",))
    notes.extend(demographics.notes)
    images = {MODALITIES[modality][1]: volume for modality, volume in zip(MODALITIES, (t1, t2, pd_), strict=True)}
    return Subject(images, site=sites.pop(), age=demographics.age, sex=demographics.sex, notes=notes)


def _read_table(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix == ".xls":
            sheets = pd.read_excel(path, sheet_name=None, engine="calamine")
            return sheets["Table"] if "Table" in sheets else next(iter(sheets.values()))
        if suffix in (".csv", ".tsv"):
            return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    except Exception as error:  # calamine and pandas raise many types for broken files
        raise AdapterError(
            f"{path}: cannot read the IXI demographics ({type(error).__name__}: {error}); delete it and rerun to "
            "download it again"
        ) from error
    raise AdapterError(f"{path}: the IXI demographics must be IXI.xls or a .csv/.tsv export of its sheet 'Table'")
