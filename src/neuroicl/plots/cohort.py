"""QC figure of the embedded cohort: each modality for a few subjects of each site."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.figure import Figure


def axial_slice(path: str) -> tuple[np.ndarray, float]:
    """Middle axial slice ``[Y, X]`` (canonical RAS, displayed anterior up) and its aspect ratio."""
    image = nib.as_closest_canonical(nib.load(path))
    data = np.asarray(image.dataobj, dtype=np.float32)
    zooms = image.header.get_zooms()
    return np.rot90(data[:, :, data.shape[2] // 2]), zooms[1] / zooms[0]


def cohort_figure(participants: pd.DataFrame, images: dict[tuple[str, str], str]) -> Figure:
    """Grid of subjects (rows, labelled with site and covariates) × modalities (columns).

    ``images`` maps (participant_id, modality) to a NIfTI path; rows follow ``participants`` order.
    """
    subjects = list(dict.fromkeys(subject for subject, _ in images))
    modalities = list(dict.fromkeys(modality for _, modality in images))
    rows = participants.set_index("participant_id").loc[subjects]
    fig, axes = plt.subplots(
        len(subjects), len(modalities), figsize=(2.2 * len(modalities), 2.4 * len(subjects)), squeeze=False
    )
    for r, (subject, info) in enumerate(rows.iterrows()):
        for c, modality in enumerate(modalities):
            data, aspect = axial_slice(images[subject, modality])
            ax = axes[r, c]
            ax.imshow(data, cmap="gray", aspect=aspect, vmin=0, vmax=np.percentile(data, 99.5))
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(modality)
        axes[r, 0].set_ylabel(f"{subject}\n{info['site']}, {info['age']:.0f} y, {info['sex']}", fontsize=8)
    fig.tight_layout()
    return fig
