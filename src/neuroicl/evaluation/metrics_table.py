"""The tidy metrics table: its columns, and the one reader and writer of its CSV files.

Evaluation writes one table per run (``results/evaluate/<run>/metrics.csv``), ``collect_metrics``
joins them (``results/evaluate/metrics.csv``), and Table 4 and the figures read the joined table.
Long format, one score per row:

- ``run`` (e.g. ``neuralizer-seen``, ``unet-segmentation-n4``), ``model`` (``neuralizer``, ``unet``,
  ``universeg``, ``context_mean``, ``identity``, …), ``variant`` (the legend name: ``Neuralizer-seen``,
  ``Neuralizer-unseen``, ``U-Net``, ``UniverSeg``, ``Floor``, ``Identity``, …);
- ``train_subjects`` (int: training subjects of the model) and ``all_subjects`` (bool: that is all of them);
- ``task``, ``family`` (:mod:`neuroicl.plan.families`), ``dataset``, ``subject``, ``slice``, ``repeat``;
- ``context_size`` (int ≥ 1; empty for models whose prediction ignores the context: U-Net, Identity);
- ``modality`` (input modalities joined by ``+``), ``target_modality`` (modality transfer only),
  ``label`` (segmentation class only);
- ``metric`` (``dice``, ``iou`` for masks; ``psnr``, ``ssim``, ``mae`` for images) and ``value``.

Example:
    >>> write(read("results/evaluate/unet-denoising-all/metrics.csv"), "copy.csv")
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from neuroicl.core.io import atomic_path
from neuroicl.plan.families import METRICS, TASK_FAMILY

#: The columns, in file order.
COLUMNS = (
    "run", "model", "variant", "train_subjects", "all_subjects", "task", "family", "dataset", "subject",
    "slice", "repeat", "context_size", "modality", "target_modality", "label", "metric", "value",
)

#: The columns that name the run; the same on every row of one run's table.
RUN_COLUMNS = ("run", "model", "variant", "train_subjects", "all_subjects")

#: Columns read as text (an empty field stays an empty string).
TEXT_COLUMNS = ("run", "model", "variant", "task", "family", "dataset", "subject", "modality", "target_modality",
                "label", "metric")

#: Numeric columns whose empty fields are missing values (NaN).
NUMERIC_COLUMNS = ("train_subjects", "context_size", "value", "slice", "repeat")

#: Significant digits written for floats.
FLOAT_FORMAT = "%.6g"

FORMAT_HINT = "see the metrics table format in the docstring of neuroicl.evaluation.metrics_table"


def from_records(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """A table from row dicts keyed by :data:`COLUMNS`, in that column order."""
    return pd.DataFrame.from_records(list(records), columns=list(COLUMNS))


def check(table: pd.DataFrame) -> None:
    """Raise ValueError unless ``table`` has every column, finite values, known families, and each task its own
    family (a NaN value would drop out of the tables' means and flatter its run)."""
    missing = [column for column in COLUMNS if column not in table.columns]
    if missing:
        raise ValueError(f"metrics table lacks columns {missing}; {FORMAT_HINT}")
    bad = table[~np.isfinite(pd.to_numeric(table["value"], errors="coerce"))]
    if len(bad):
        first = bad.iloc[0]
        raise ValueError(f"metrics table has {len(bad)} missing or non-finite values (first: run {first['run']!r}, "
                         f"task {first['task']!r}, metric {first['metric']!r}); every value must be a finite number")
    families = sorted(set(table["family"]) - set(METRICS))
    if families:
        raise ValueError(f"metrics table has unknown families {families}; expected some of {list(METRICS)}")
    pairs = table[["task", "family"]].drop_duplicates()
    wrong = [f"{task} ({family})" for task, family in pairs.itertuples(index=False)
             if TASK_FAMILY.get(task, family) != family]
    if wrong:
        raise ValueError(f"metrics table gives tasks the wrong family: {wrong}; see neuroicl.plan.families.TASK_FAMILY")


def read(path: str | os.PathLike) -> pd.DataFrame:
    """Read a metrics CSV: text fields stay strings (empty ones empty), empty numeric fields are NaN."""
    return pd.read_csv(path, dtype=dict.fromkeys(TEXT_COLUMNS, str), keep_default_na=False,
                       na_values={column: [""] for column in NUMERIC_COLUMNS})


def write(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``table`` (checked, columns in :data:`COLUMNS` order) atomically."""
    check(table)
    with atomic_path(path) as temporary:
        table.loc[:, list(COLUMNS)].to_csv(temporary, index=False, float_format=FLOAT_FORMAT)


def concat(paths: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """The tables of ``paths`` (one per run), one after the other."""
    return pd.concat([read(path) for path in paths], ignore_index=True)
