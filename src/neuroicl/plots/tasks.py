"""Figures of the tasks (like the supplement's Fig. 6–8) and of the augmentations (Fig. 9, 11)."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

from neuroicl.tasks.synthesize import Batch


def _display(image: torch.Tensor) -> np.ndarray:
    """``[H, W]`` (or ``[3, H, W]`` → RGB) slice with H = left–right, W = inferior–superior → superior up."""
    array = image.float().cpu().numpy()
    if array.ndim == 3:
        array = np.moveaxis(array, 0, -1).clip(0, 1)
        return np.rot90(array, k=1, axes=(0, 1))
    return np.rot90(array)


def _shown_channel(batch: Batch) -> int:
    """The first scored output channel of the target (the supplement shows one channel)."""
    return int(batch.active[0].nonzero()[0])


def _blank(ax: plt.Axes) -> None:
    """An empty panel that keeps its row label."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def _panel(ax: plt.Axes, image: torch.Tensor, title: str | None = None, frame: str | None = None) -> None:
    ax.imshow(_display(image), cmap="gray", vmin=0, vmax=1 if image.dim() == 2 else None)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=7)
    if frame:
        for spine in ax.spines.values():
            spine.set_edgecolor(frame)
            spine.set_linewidth(2)


def task_figure(batches: dict[str, Batch], pairs: int) -> Figure:
    """One row per task: target input and output (magenta), then ``pairs`` context pairs (grey)."""
    fig, axes = plt.subplots(
        len(batches), 2 + 2 * pairs, figsize=(1.3 * (2 + 2 * pairs), 1.4 * len(batches)), squeeze=False
    )
    for r, (name, batch) in enumerate(batches.items()):
        c = _shown_channel(batch)
        shown_in = c if batch.target_in[0, c].abs().max() > 0 else 0
        titles = r == 0
        _panel(axes[r, 0], batch.target_in[0, shown_in], "target in" if titles else None, "magenta")
        _panel(axes[r, 1], batch.target_out[0, c], "target out" if titles else None, "magenta")
        for j in range(pairs):
            if j >= batch.context_in.shape[1]:
                _blank(axes[r, 2 + 2 * j])
                _blank(axes[r, 3 + 2 * j])
                continue
            _panel(
                axes[r, 2 + 2 * j], batch.context_in[0, j, shown_in], f"context {j + 1} in" if titles else None, "grey"
            )
            _panel(axes[r, 3 + 2 * j], batch.context_out[0, j, c], f"context {j + 1} out" if titles else None, "grey")
        axes[r, 0].set_ylabel(name.replace("_", " "), fontsize=7)
    fig.tight_layout()
    return fig


def augmentation_figure(batches: dict[str, dict[str, Batch]]) -> Figure:
    """Rows: no augmentation, each augmentation, tree draws; per task: input (3 channels as RGB) and output."""
    keys = list(dict.fromkeys(key for rows in batches.values() for key in rows))
    tasks = list(batches)
    fig, axes = plt.subplots(len(keys), 2 * len(tasks), figsize=(1.5 * 2 * len(tasks), 1.45 * len(keys)), squeeze=False)
    for r, key in enumerate(keys):
        for t, task in enumerate(tasks):
            left, right = axes[r, 2 * t], axes[r, 2 * t + 1]
            batch = batches[task].get(key)
            if batch is None:
                _blank(left)
                _blank(right)
                continue
            top = r == 0
            _panel(left, batch.target_in[0], f"{task}\ninput (RGB = channels)" if top else None)
            _panel(right, batch.target_out[0, _shown_channel(batch)], f"{task}\noutput" if top else None)
        axes[r, 0].set_ylabel(key.replace("_", " "), fontsize=7)
    fig.tight_layout()
    return fig
