"""ISTN's Figs. 3-4 (Robinson et al. 2020): source images, what the ITN and the STN make of them, and the STN's
deformation field, for a few source test subjects and each ISTN mode (:func:`~neuroicl.evaluation.istn_study.
transform_examples`).

One row per mode and subject: the source image S; the ITN's output and its difference from S (appearance, Fig. 4's
"ITN" panel); the ISTN's output S2T and its difference from the ITN's output (shape, the "STN" panel); the
displacement field (arrows in pixels over |d|, Fig. 4 right). Differences share one symmetric colour scale per row,
up to the 99th percentile of their magnitudes (:data:`CLIP`; larger values saturate).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

#: Resolution of the PNG copy.
PNG_DPI = 150
#: Differences are shown up to this percentile of their magnitude (a local change would hide the broad ones).
CLIP = 99.0
#: Arrows every this many pixels in the displacement panel.
ARROW_STEP = 4
COLUMNS = ("source S", "ITN(S)", "ITN(S) − S", "ISTN(S) = S2T", "S2T − ITN(S)", "displacement (px)")


def _show(axis, image: np.ndarray, **style) -> None:
    axis.imshow(image.T, origin="lower", **style)  # slices are [X, Z]: x to the right, z up
    axis.set_xticks([])
    axis.set_yticks([])


def transform_figure(examples: Mapping[str, Mapping], pair: str) -> Figure:
    """The figure of :func:`~neuroicl.evaluation.istn_study.transform_examples`' output (mode -> arrays)."""
    rows = [(mode, i) for mode, data in examples.items() for i in range(len(data["subjects"]))]
    figure, axes = plt.subplots(len(rows), len(COLUMNS), figsize=(1.9 * len(COLUMNS), 2.0 * len(rows) + 0.4),
                                layout="constrained", squeeze=False)
    for r, (mode, i) in enumerate(rows):
        data = examples[mode]
        source, itn, s2t = data["source"][i, 0], data["itn"][i, 0], data["s2t"][i, 0]
        field = data["displacement"][i]
        differences = (itn - source, s2t - itn)
        limit = max(float(np.percentile(np.abs(d), CLIP)) for d in differences) or 1e-6
        for c, image in enumerate((source, itn)):
            _show(axes[r, c], image, cmap="gray", vmin=0, vmax=1)
        _show(axes[r, 2], differences[0], cmap="RdBu_r", vmin=-limit, vmax=limit)
        _show(axes[r, 3], s2t, cmap="gray", vmin=0, vmax=1)
        _show(axes[r, 4], differences[1], cmap="RdBu_r", vmin=-limit, vmax=limit)
        magnitude = np.hypot(field[0], field[1])
        _show(axes[r, 5], magnitude, cmap="magma", vmin=0, vmax=max(float(magnitude.max()), 1e-6))
        h, w = field.shape[-2:]
        ys, xs = np.mgrid[0:h:ARROW_STEP, 0:w:ARROW_STEP]
        # field [2 (x along W, y along H), H, W]; the image is shown transposed (H right, W up)
        axes[r, 5].quiver(ys, xs, field[1][ys, xs], field[0][ys, xs], color="cyan", angles="xy", scale_units="xy",
                          scale=max(float(magnitude.max()), 1e-6) / ARROW_STEP, width=0.006)
        axes[r, 5].set_xlim(-0.5, h - 0.5)
        axes[r, 5].set_ylim(-0.5, w - 0.5)
        axes[r, 5].set_title(f"max {magnitude.max():.2f} px", fontsize=7)
        axes[r, 0].set_ylabel(f"{mode}\n{data['subjects'][i]}", fontsize=8)
        axes[r, 2].set_title(f"±{limit:.3f}", fontsize=7)
    for c, title in enumerate(COLUMNS):
        axes[0, c].set_title(f"{title}\n{axes[0, c].get_title()}".strip(), fontsize=8)
    figure.suptitle(f"ISTN {pair.replace('-', ' → ')}: appearance (ITN) and shape (STN) changes (Figs. 3-4)",
                    fontsize=9)
    return figure
