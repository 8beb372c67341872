"""Skull stripping, offline: atlas-based masking after registration, or deepbet (weights in its wheel).

``atlas``: the reference brain mask (Neuromorphometrics classes on the MNI152 grid, closed and
filled; :func:`neuroicl.data.reference.brain_mask_from_labels`) carried to the subject by the
estimated affine — on the model grid this is the reference mask itself. ``deepbet``: the learning-based
stripper of Fisch et al. (2024), run on the native canonical T1w, its mask carried to the grid.
docs/preprocessing.md compares both against the cohort's true masks.
"""

from __future__ import annotations

METHODS = ("atlas", "deepbet")


def check_method(method: str) -> None:
    """Raise ValueError unless ``method`` is a known skull-stripping method."""
    if method not in METHODS:
        raise ValueError(f"preprocess.skullstrip {method!r} must be one of {METHODS}")

