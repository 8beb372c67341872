"""Atomic file output: write under a temporary name in the target folder, rename at the end.

A failure (or a killed job) leaves no half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` (same suffixes) and move it onto ``path`` on success."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    suffixes = "".join(final.suffixes)
    stem = final.name[: len(final.name) - len(suffixes)] if suffixes else final.name
    temporary = final.with_name(f".{stem}.tmp-{os.getpid()}{suffixes}")
    try:
        yield temporary
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)


def write_nifti(path: str | os.PathLike, data: np.ndarray, affine: np.ndarray, dtype: type | None = None) -> None:
    """Save a NIfTI-1 image atomically; gzip output is byte-reproducible (nibabel writes mtime 0)."""
    image = nib.Nifti1Image(data, affine)
    if dtype is not None:
        image.set_data_dtype(dtype)
    image.header.set_xyzt_units("mm", "sec")
    with atomic_path(path) as temporary:
        nib.save(image, temporary)


def write_json(path: str | os.PathLike, payload: dict) -> None:
    """Save JSON (sorted keys, indented) atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")


def write_tsv(path: str | os.PathLike, table: pd.DataFrame) -> None:
    """Save a tab-separated table without the index, atomically."""
    with atomic_path(path) as temporary:
        table.to_csv(temporary, sep="\t", index=False, lineterminator="\n")


def save_arrays(path: str | os.PathLike, record: object) -> None:
    """Save a dataclass whose fields are arrays as an uncompressed .npz, atomically."""
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        np.savez(handle, **{f.name: getattr(record, f.name) for f in fields(record)})


def load_arrays(cls: type, path: str | os.PathLike):
    """Load a dataclass saved by :func:`save_arrays`; a stale or foreign file names itself."""
    with np.load(path) as data:
        missing = {f.name for f in fields(cls)} - set(data.files)
        if missing:
            raise ValueError(f"{path}: not a {cls.__name__} file (missing {sorted(missing)}); delete it and rerun")
        return cls(**{f.name: data[f.name] for f in fields(cls)})
