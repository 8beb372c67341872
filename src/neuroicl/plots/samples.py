"""Qualitative test samples with predictions, like the supplement's Fig. 6–8.

Per sample (one row): target input (magenta frame), prediction (blue, titled with its score), ground truth,
then up to ``context_pairs`` context pairs, input over output (grey). One channel is shown per output (the
first scored one) and per input (the first non-empty one, or the three channels as RGB when several are
non-empty). Slices are ``[H, W]`` with H = left–right and W = inferior–superior, displayed superior up.
"""

from __future__ import annotations

import numpy as np
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

from neuroicl.paper.table4 import TASKS
from neuroicl.plan.families import PRIMARY, family_of

#: Keys of the samples file (an ``np.load``-ed .npz); N samples with K context pairs each.
KEYS = ("target_in", "target_out", "prediction", "context_in", "context_out", "active", "task", "modality",
        "score", "context_size")
_UNIT = 0.8  # inches per context panel; target panels are twice as wide and tall


#: The sample figures, each showing the next group of :func:`split_tasks`.
SAMPLE_FIGURES = ("fig6", "fig7", "fig8")


def figure_tasks(figure: str, tasks: list[str]) -> list[str]:
    """The tasks sample figure ``figure`` (one of :data:`SAMPLE_FIGURES`) shows: its group of ``tasks``."""
    if figure not in SAMPLE_FIGURES:
        raise ValueError(f"unknown sample figure {figure!r}; valid: {list(SAMPLE_FIGURES)}")
    return split_tasks(tasks, len(SAMPLE_FIGURES))[SAMPLE_FIGURES.index(figure)]


def split_tasks(tasks: list[str], figures: int = 3) -> list[list[str]]:
    """Split tasks in order into ``figures`` groups as even as possible, larger first (8 → 3, 3, 2).

    Example:
        >>> split_tasks(["a", "b", "c", "d"], 3)
        [['a', 'b'], ['c'], ['d']]
    """
    if figures < 1:
        raise ValueError(f"figures must be at least 1, got {figures}")
    size, extra = divmod(len(tasks), figures)
    groups, start = [], 0
    for i in range(figures):
        end = start + size + (i < extra)
        groups.append(list(tasks[start:end]))
        start = end
    return groups


def _display(image: np.ndarray) -> np.ndarray:
    """``[H, W]`` (or ``[3, H, W]`` → RGB) slice with H = left–right, W = inferior–superior → superior up."""
    if image.ndim == 3:
        return np.rot90(np.moveaxis(image, 0, -1).clip(0, 1), k=1, axes=(0, 1))
    return np.rot90(image)


def _input(channels: np.ndarray, rgb: bool, first: int) -> np.ndarray:
    """``[3, H, W]`` input → what is shown: all channels as RGB, or channel ``first``."""
    return channels if rgb else channels[first]


def _panel(ax: plt.Axes, image: np.ndarray, title: str | None = None, frame: str | None = None) -> None:
    ax.imshow(_display(image.astype(np.float32)), cmap="gray", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=7, pad=2)
    for spine in ax.spines.values():
        spine.set_visible(frame is not None)
        if frame:
            spine.set_edgecolor(frame)
            spine.set_linewidth(2)


#: How a primary metric is shown under a prediction.
_SCORE_FORMAT = {"dice": "Dice {:.2f}", "psnr": "PSNR {:.1f}"}


def _score(task: str, score: float) -> str:
    return _SCORE_FORMAT[PRIMARY[family_of(task)]].format(score)


def sample_figure(samples: dict[str, np.ndarray], tasks: list[str], context_pairs: int = 8) -> Figure:
    """One row per sample whose task is in ``tasks`` (in that order, then sample order).

    ``samples``: arrays under :data:`KEYS`: ``target_in``/``target_out``/``prediction`` ``[N, 3, H, W]``,
    ``context_in``/``context_out`` ``[N, K, 3, H, W]``, ``active`` ``[N, 3]`` bool, ``task``/``modality``
    ``[N]`` str, ``score`` ``[N]`` (Dice or PSNR) and ``context_size`` ``[N]``; values in [0, 1].
    """
    missing = [key for key in KEYS if key not in samples]
    if missing:
        raise ValueError(f"samples lack arrays {missing}; expected {list(KEYS)}")
    names = [str(t) for t in samples["task"]]
    chosen = [i for task in tasks for i, name in enumerate(names) if name == task]
    pairs = max(0, min(context_pairs, samples["context_in"].shape[1]))
    columns = 7 + pairs  # three double-width target panels, a spacer, the context pairs
    if not chosen:
        fig = plt.figure(figsize=(_UNIT * (6 + pairs), 1.5))
        note = f"no samples of {', '.join(tasks)}" if tasks else "no tasks left for this figure"
        fig.text(0.5, 0.5, note, ha="center", va="center")
        return fig
    fig = plt.figure(figsize=(_UNIT * (6.4 + pairs), _UNIT * 2.35 * len(chosen) + 0.2))
    outer = fig.add_gridspec(len(chosen), 1, hspace=0.2, left=0.06, right=0.99, top=1 - 0.3 / fig.get_figheight(),
                             bottom=0.05 / fig.get_figheight())
    for r, n in enumerate(chosen):
        grid = outer[r].subgridspec(2, columns, wspace=0.06, hspace=0.06, width_ratios=[1] * 6 + [0.4] + [1] * pairs)
        top = r == 0
        task, active = names[n], np.asarray(samples["active"][n], dtype=bool)
        c = int(np.flatnonzero(active)[0]) if active.any() else 0
        filled = np.flatnonzero(np.abs(samples["target_in"][n]).reshape(3, -1).max(axis=1) > 0)
        rgb, first = len(filled) > 1, int(filled[0]) if len(filled) else 0
        target = fig.add_subplot(grid[:, 0:2])
        _panel(target, _input(samples["target_in"][n], rgb, first), "target input" if top else None, "magenta")
        target.set_ylabel(f"{TASKS.get(task, task)}\n{samples['modality'][n]}, L = {int(samples['context_size'][n])}",
                          fontsize=7)
        score = _score(task, float(samples["score"][n]))
        _panel(fig.add_subplot(grid[:, 2:4]), samples["prediction"][n, c], f"prediction, {score}" if top else score,
               "tab:blue")
        _panel(fig.add_subplot(grid[:, 4:6]), samples["target_out"][n, c], "ground truth" if top else None)
        for j in range(min(pairs, int(samples["context_size"][n]))):
            above, below = fig.add_subplot(grid[0, 7 + j]), fig.add_subplot(grid[1, 7 + j])
            _panel(above, _input(samples["context_in"][n, j], rgb, first), f"context {j + 1}" if top else None, "grey")
            _panel(below, samples["context_out"][n, j, c], None, "grey")
    return fig
