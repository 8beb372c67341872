"""The compact slice store training and evaluation read (memory-mapped .npy files), and its writer.

Per subject (one .npz written by preprocessing): ``images [S, M, H, W]`` float16 (M = the dataset's
modalities, zeros where missing), ``mask [S, H, W]`` uint8 (estimated brain mask), ``labels [S, H, W]``
uint8 (label map, 0 if none), ``slice [S]`` (the slice's index along the slicing axis) and
``available [M]``. The store concatenates subjects in sorted order into ``images.npy``, ``mask.npy``,
``labels.npy``, with ``meta.json`` (modalities, slice shape) and ``index.tsv`` (row, subject, site,
slice, available modalities).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from neuroicl.core.io import atomic_path, write_json, write_tsv

ARRAYS = ("images", "mask", "labels")


def write_subject_slices(path: str, arrays: dict[str, np.ndarray]) -> None:
    """Save one subject's slices (.npz, uncompressed), atomically."""
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        np.savez(handle, **arrays)


def gather(subject_files: dict[str, str], sites: dict[str, str], modalities: list[str], folder: str) -> pd.DataFrame:
    """Concatenate per-subject slice files (sorted by subject) into the store under ``folder``."""
    rows, parts = [], {name: [] for name in ARRAYS}
    for subject in sorted(subject_files):
        with np.load(subject_files[subject]) as data:
            for name in ARRAYS:
                parts[name].append(data[name])
            available = ",".join(m for m, ok in zip(modalities, data["available"], strict=True) if ok)
            rows += [(subject, sites[subject], int(s), available) for s in data["slice"]]
    out = Path(folder)
    for name in ARRAYS:
        with atomic_path(out / f"{name}.npy") as temporary:
            np.save(temporary, np.concatenate(parts[name]))
    index = pd.DataFrame(rows, columns=["subject", "site", "slice", "modalities"])
    index.insert(0, "row", range(len(index)))
    write_json(out / "meta.json", {"modalities": modalities, "shape": list(parts["images"][0].shape[1:])})
    write_tsv(out / "index.tsv", index)
    return index


@dataclass(frozen=True)
class SliceStore:
    """Read-only view of a store: arrays are memory-mapped, so opening is instant.

    images ``[N, M, H, W]`` float16, mask and labels ``[N, H, W]`` uint8, index: one row per slice.
    """

    images: np.ndarray
    mask: np.ndarray
    labels: np.ndarray
    index: pd.DataFrame
    modalities: list[str]

    @classmethod
    def open(cls, folder: str) -> SliceStore:
        path = Path(folder)
        missing = [f for f in (*[f"{n}.npy" for n in ARRAYS], "index.tsv", "meta.json") if not (path / f).is_file()]
        if missing:
            raise FileNotFoundError(
                f"slice store {folder} lacks {missing}; build it with `snakemake -c2 {folder}/index.tsv`"
            )
        arrays = {name: np.load(path / f"{name}.npy", mmap_mode="r") for name in ARRAYS}
        meta = json.loads((path / "meta.json").read_text())
        index = pd.read_csv(path / "index.tsv", sep="\t", dtype={"subject": str, "site": str, "modalities": str})
        if len(index) != len(arrays["images"]):
            raise ValueError(
                f"slice store {folder}: index.tsv has {len(index)} rows but images.npy {len(arrays['images'])}"
            )
        return cls(index=index, modalities=list(meta["modalities"]), **arrays)
