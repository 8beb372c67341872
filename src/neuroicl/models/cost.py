"""Model size and inference cost (Neuralizer supplement Sec. H, Table 6).

FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode`` for one forward pass at batch
size 1: convolutions and matrix products only, a multiply-add counted as 2 FLOPs, biases,
activations, pooling, interpolation and means not counted. Table 6's numbers agree with this
convention (they are twice the multiply-accumulate count; docs/models.md). The models are
built on the ``meta`` device, so shapes flow but nothing is computed or allocated: the whole
table takes seconds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from neuroicl.models.base import IMAGE_CHANNELS
from neuroicl.models.factory import build_model

#: Image size of Table 6 (192x192 slices); the paper's numbers hold only there.
PAPER_IMAGE_SIZE = 192
CONTEXT_SIZES = (1, 2, 4, 8, 16, 32)


@dataclass(frozen=True)
class CostEntry:
    """One model row of the cost table and the published numbers to compare with.

    Attributes:
        label: row label.
        name, hparams: what :func:`build_model` builds.
        paper_params_m: published parameter count in millions, or None.
        paper_gflops: published GFLOPs by context size L; a model that ignores the context has
            one number for every L, stored under key ``None``.
    """

    label: str
    name: str
    hparams: Mapping[str, Any] = field(default_factory=dict)
    paper_params_m: float | None = None
    paper_gflops: Mapping[int | None, float] = field(default_factory=dict)

    def paper_gflops_at(self, context_size: int) -> float | None:
        return self.paper_gflops.get(context_size, self.paper_gflops.get(None))


#: Table 6 (Neuralizer supplement) plus UniverSeg (Butoi et al. 2023: 1.18 M parameters) and
#: the parameter-free floor. The reference values are the papers' numbers, for comparison only.
TABLE6: tuple[CostEntry, ...] = (
    CostEntry("Neuralizer (C=64)", "neuralizer", {}, 1.27, {1: 39.1, 32: 610.5}),
    CostEntry("U-Net (C=64)", "unet", {"channels": 64}, 0.62, {None: 20.7}),
    CostEntry("U-Net (C=256)", "unet", {"channels": 256}, 9.84, {None: 329.7}),
    CostEntry("UniverSeg", "universeg", {}, 1.18),
    CostEntry("Context mean", "context_mean", {}),
)


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (trainable or not) of ``model``."""
    return sum(p.numel() for p in model.parameters())


def inference_flops(model: nn.Module, image_size: int, context_size: int) -> int:
    """FLOPs of one forward pass at batch 1 on ``H = W = image_size`` with L = ``context_size``.

    Inputs live on the model's device (``meta`` for a parameter-free model).
    """
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("meta")
    s, c = image_size, IMAGE_CHANNELS
    target_in = torch.zeros(1, c, s, s, device=device)
    context = torch.zeros(1, context_size, c, s, s, device=device)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(target_in, context, context)
    return counter.get_total_flops()


def _check_sizes(image_size: int, context_sizes: Sequence[int]) -> None:
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"image_size must be a positive integer, got {image_size!r}")
    if not context_sizes or any(
        isinstance(l, bool) or not isinstance(l, int) or l < 1 for l in context_sizes
    ):
        raise ValueError(
            f"context_sizes must be a non-empty list of positive integers, got {context_sizes!r}"
        )


def cost_table(
    image_size: int = PAPER_IMAGE_SIZE,
    context_sizes: Sequence[int] = CONTEXT_SIZES,
    entries: Sequence[CostEntry] = TABLE6,
) -> pd.DataFrame:
    """Parameters and inference GFLOPs of every entry at every context size.

    Columns: model, context_size, params_m, gflops, paper_params_m, paper_gflops,
    params_rel_err, gflops_rel_err (ours / paper - 1). Paper values are NaN where the paper
    gives none or ``image_size`` is not :data:`PAPER_IMAGE_SIZE`.
    """
    _check_sizes(image_size, context_sizes)
    at_paper_size = image_size == PAPER_IMAGE_SIZE
    rows = []
    for entry in entries:
        model = build_model(entry.name, device="meta", **entry.hparams)
        if not isinstance(model, nn.Module):
            raise TypeError(f"cost_table measures nn.Module models; {entry.name!r} is not one")
        params_m = count_parameters(model) / 1e6
        for context_size in context_sizes:
            paper_gflops = entry.paper_gflops_at(context_size) if at_paper_size else None
            paper_params_m = entry.paper_params_m if at_paper_size else None
            rows.append(
                {
                    "model": entry.label,
                    "context_size": context_size,
                    "params_m": params_m,
                    "gflops": inference_flops(model, image_size, context_size) / 1e9,
                    "paper_params_m": math.nan if paper_params_m is None else paper_params_m,
                    "paper_gflops": math.nan if paper_gflops is None else paper_gflops,
                }
            )
    table = pd.DataFrame(rows)
    table["params_rel_err"] = table["params_m"] / table["paper_params_m"] - 1.0
    table["gflops_rel_err"] = table["gflops"] / table["paper_gflops"] - 1.0
    return table


def cost_table_markdown(table: pd.DataFrame) -> str:
    """Render :func:`cost_table` as a Markdown table (relative errors in percent, NaN as '–')."""
    formats = {
        "context_size": "{:d}",
        "params_m": "{:.3f}",
        "gflops": "{:.2f}",
        "paper_params_m": "{:.2f}",
        "paper_gflops": "{:.1f}",
        "params_rel_err": "{:+.2%}",
        "gflops_rel_err": "{:+.2%}",
    }
    columns = list(table.columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for record in table.to_dict("records"):
        cells = [
            (
                "–"
                if isinstance(record[col], float) and math.isnan(record[col])
                else formats.get(col, "{}").format(record[col])
            )
            for col in columns
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
