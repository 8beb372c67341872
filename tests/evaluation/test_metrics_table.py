"""The tidy metrics table: a NaN or infinite value is refused before it can drop out of a mean."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuroicl.evaluation import metrics_table
from neuroicl.evaluation.metrics_table import COLUMNS


def _table(values: list[float]) -> pd.DataFrame:
    rows = [{"run": "r", "model": "m", "variant": "Floor", "train_subjects": 4, "all_subjects": True,
             "task": "denoising", "family": "reconstruction", "dataset": "d", "subject": f"sub-{i}", "slice": 1,
             "repeat": 0, "context_size": 1, "modality": "T1w", "target_modality": "", "label": "",
             "metric": "psnr", "value": value} for i, value in enumerate(values)]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def test_a_finite_table_round_trips(tmp_path):
    metrics_table.write(_table([20.0, 30.0]), tmp_path / "m.csv")
    assert metrics_table.read(tmp_path / "m.csv")["value"].tolist() == [20.0, 30.0]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_value_is_refused_naming_its_run_and_metric(tmp_path, bad):
    with pytest.raises(ValueError, match="1 missing or non-finite values \\(first: run 'r', task 'denoising', "
                                         "metric 'psnr'\\)"):
        metrics_table.write(_table([20.0, bad]), tmp_path / "m.csv")
    assert not (tmp_path / "m.csv").exists()
