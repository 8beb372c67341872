"""One evaluation job (rule ``evaluate``; ``evaluate_val`` with ``part="val"``): score a run on every dataset's
test (or validation) split, write its outputs.

Example:
    >>> table, samples = evaluate_run(run, config, stores, splits, "results/train/neuralizer-seen/model.pt", "cpu")
    >>> write_outputs(table, samples, "metrics.csv", "samples.npz")
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch

from neuroicl.core.io import atomic_path
from neuroicl.data.slice_store import SliceStore
from neuroicl.evaluation import metrics_table
from neuroicl.evaluation.evaluate import evaluate, evaluation_setup
from neuroicl.evaluation.predictors import predictor
from neuroicl.plan.cases import EvalSettings
from neuroicl.plan.runs import Run


def run_columns(run: Run, splits: Mapping[str, dict[str, list[str]]]) -> dict[str, Any]:
    """The columns that name ``run`` in its metrics table (:data:`metrics_table.RUN_COLUMNS`)."""
    return {"run": run.name, "model": run.model, "variant": run.variant, "all_subjects": run.subjects is None,
            "train_subjects": run.subjects or sum(len(split["train"]) for split in splits.values())}


def evaluate_run(run: Run, config: dict[str, Any], stores: Mapping[str, SliceStore],
                 splits: Mapping[str, dict[str, list[str]]], model_path: str | None,
                 device: torch.device | str, part: str = "test") -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Score ``run`` on its tasks at its context sizes, on every dataset's ``part`` subjects (config order);
    return the metrics table and the qualitative samples (Figs. 6–8)."""
    setups = {name: evaluation_setup(config, stores[name], splits[name], name, part) for name in stores}
    settings = EvalSettings.from_config(config["evaluation"])
    predict = predictor(run, config, model_path, device)
    return evaluate(predict, setups, list(run.eval_tasks), settings, run_columns(run, splits),
                    context_sizes=run.context_sizes(settings.context_sizes), device=device, keep_samples=True)


def write_outputs(table: pd.DataFrame, samples: dict[str, np.ndarray], metrics_path: str | os.PathLike,
                  samples_path: str | os.PathLike) -> None:
    """Write the samples (compressed .npz), then the metrics table; each atomically."""
    with atomic_path(samples_path) as temporary, open(temporary, "wb") as handle:
        np.savez_compressed(handle, **samples)
    metrics_table.write(table, metrics_path)
