"""Subject-level train/val/test splits: made once, stratified by site, written to JSON, read thereafter.

After nnU-Net, minus its silent fallback: a missing split file is an error, and disjointness is
asserted on read.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from neuroicl.plan.splits import PARTS, check_fractions, part_sizes


def make_splits(participants: pd.DataFrame, fractions: dict[str, float], seed: int) -> dict[str, list[str]]:
    """Split subjects per site: sorted IDs, shuffled by a generator seeded with (seed, site index).

    Each site's part sizes are :func:`neuroicl.plan.splits.part_sizes` (round(fraction × n) to val and
    test, at least one each when the site has ≥ 3 subjects); the rest train.
    """
    check_fractions(fractions)
    splits: dict[str, list[str]] = {part: [] for part in PARTS}
    for site_index, (_, group) in enumerate(sorted(participants.groupby("site"), key=lambda kv: str(kv[0]))):
        ids = sorted(group["participant_id"].astype(str))
        order = np.random.default_rng([seed, site_index]).permutation(len(ids))
        shuffled = [ids[i] for i in order]
        sizes = part_sizes(len(ids), fractions)
        n_val, n_test = sizes["val"], sizes["test"]
        splits["test"] += shuffled[:n_test]
        splits["val"] += shuffled[n_test : n_test + n_val]
        splits["train"] += shuffled[n_test + n_val :]
    return {part: sorted(ids) for part, ids in splits.items()}


def check_disjoint(splits: dict[str, list[str]], source: str = "splits") -> None:
    """Raise ValueError if a subject appears in two parts or a part is missing."""
    if set(splits) != set(PARTS):
        raise ValueError(f"{source}: expected parts {PARTS}, got {sorted(splits)}")
    seen: dict[str, str] = {}
    for part in PARTS:
        for subject in splits[part]:
            if subject in seen:
                raise ValueError(f"{source}: {subject} is in both {seen[subject]} and {part}")
            seen[subject] = part


def read_splits(path: str) -> dict[str, list[str]]:
    """Read a split file; a missing file is an error (never a silent fallback)."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"split file {path} does not exist; make it with `snakemake -c2 {path}`")
    splits = json.loads(file.read_text())
    check_disjoint(splits, path)
    return splits
