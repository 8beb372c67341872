"""Open what training and evaluation read: every dataset's slice store and split, in config order."""

from __future__ import annotations

from pathlib import Path

from neuroicl.data.slice_store import SliceStore
from neuroicl.data.splits import read_splits


def open_datasets(
    names: list[str], index_files: list[str], split_files: list[str]
) -> tuple[dict[str, SliceStore], dict[str, dict[str, list[str]]]]:
    """Slice stores and splits of the datasets ``names`` (config order), from each store's ``index.tsv``
    and split file given in the same order (a training or evaluation job's inputs)."""
    if not len(names) == len(index_files) == len(split_files):
        raise ValueError(f"datasets {names}: got {len(index_files)} slice stores and {len(split_files)} split files")
    stores = {name: SliceStore.open(str(Path(index).parent)) for name, index in zip(names, index_files, strict=True)}
    splits = {name: read_splits(path) for name, path in zip(names, split_files, strict=True)}
    return stores, splits
