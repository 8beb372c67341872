"""Tissue contrast per modality: literature-typical relative intensities (SynthSeg-style synthesis).

Values are relative signal (WM on T1w ≈ 0.8), chosen to reproduce the contrast orders of clinical
sequences: T1w WM > GM > CSF; T2w and PDw CSF > GM > WM; FLAIR GM > WM > CSF (CSF nulled); fat
(scalp) bright on T1w; cortical bone dark everywhere.
"""

from __future__ import annotations

import numpy as np

TISSUES = ("wm", "gm", "csf", "thalamus", "caudate", "putamen", "pallidum", "brainstem", "skull", "scalp")

# rows: TISSUES, columns: neuroicl.plan.cohort.MODALITIES (T1w, T2w, PDw, FLAIR)
MEANS = np.array(
    [
        [0.80, 0.35, 0.62, 0.45],  # wm
        [0.50, 0.52, 0.76, 0.62],  # gm
        [0.12, 1.00, 0.92, 0.06],  # csf
        [0.66, 0.42, 0.68, 0.55],  # thalamus
        [0.55, 0.50, 0.75, 0.62],  # caudate (and accumbens)
        [0.58, 0.45, 0.72, 0.60],  # putamen
        [0.68, 0.34, 0.65, 0.50],  # pallidum
        [0.72, 0.40, 0.64, 0.50],  # brainstem
        [0.10, 0.06, 0.08, 0.05],  # skull (bone with some marrow; texture adds the rest)
        [0.95, 0.55, 0.80, 0.70],  # scalp (fat and skin)
    ],
    dtype=np.float64,
)

# relative texture amplitude per tissue (marrow in bone, fat lobules in scalp)
TEXTURE = {"skull": 0.6, "scalp": 0.15}
BRAIN_TEXTURE = 0.03


def tissue_means(gamma: float, jitter: np.ndarray) -> np.ndarray:
    """Tissue × modality means after a site's contrast curve ``I ↦ I**gamma`` and per-entry jitter.

    ``jitter`` has the shape of :data:`MEANS` (log-scale factors; 0 means none). A power curve is
    monotone, so every contrast order above survives any site.
    """
    return MEANS**gamma * np.exp(jitter)
