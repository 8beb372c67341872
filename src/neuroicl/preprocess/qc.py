"""Quality control of preprocessing: accuracy against the cohort's ground truth, what can be measured
without truth (real datasets), and a QC figure."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
from matplotlib.figure import Figure

from neuroicl.core.figures import plt
from neuroicl.core.metrics import dice
from neuroicl.preprocess.chain import Preprocessed, Template
from neuroicl.preprocess.grid import ModelGrid, resample
from neuroicl.preprocess.register import affine_error_mm


def truth_metrics(result: Preprocessed, truth: dict[str, str], grid: ModelGrid) -> dict[str, float]:
    """Registration error (mm, over true brain voxels, vs the true pose), skull-strip Dice on the grid,
    and per modality the correlation of estimated vs true log bias field within the brain.

    The true mask and bias field are carried to the grid with the *estimated* transform, exactly as
    the images were: a mask is right when it matches the brain in the resampled image, so Dice pays
    for registration error too (carrying the truth with the true pose would hide it from the atlas
    mask, which lives in MNI space). ``truth``: paths 'pose' (JSON with native_to_mni), 'mask' and
    'bias' (native NIfTI).
    """
    pose = np.array(json.loads(open(truth["pose"]).read())["native_to_mni"])
    mask_image = nib.load(truth["mask"])
    native_mask = np.asarray(mask_image.dataobj) > 0
    points = np.argwhere(native_mask) @ mask_image.affine[:3, :3].T + mask_image.affine[:3, 3]
    mean, worst = affine_error_mm(result.native_to_mni, pose, points)
    true_mask = resample(native_mask.astype(np.uint8), mask_image.affine, result.native_to_mni, grid, order=0) > 0
    bias_image = nib.load(truth["bias"])
    true_bias = resample(
        np.asarray(bias_image.dataobj, dtype=np.float32), bias_image.affine, result.native_to_mni, grid
    )
    inside = true_mask & result.mask & (true_bias > 0)
    metrics = {
        "registration_mean_mm": mean,
        "registration_max_mm": worst,
        "skullstrip_dice": dice(result.mask, true_mask),
    }
    for modality, field in result.bias.items():
        metrics[f"bias_corr_{modality}"] = float(np.corrcoef(np.log(field[inside]), np.log(true_bias[inside]))[0, 1])
    return metrics


def image_metrics(result: Preprocessed, template: Template, grid: ModelGrid, modality: str) -> dict[str, float]:
    """QC without truth (real datasets): what the result alone shows.

    ``brain_ml``: volume of the estimated brain mask; ``template_dice``: its Dice with the template's
    brain on the grid (a failed registration or strip moves it far from 0.9); ``template_corr``: the
    correlation of the registered ``modality`` with the template T1 within the template brain.
    """
    brain = template.brain_on_grid > 0
    image = result.images[modality][brain]
    return {
        "brain_ml": float(result.mask.sum()) * grid.spacing_mm**3 / 1000,
        "template_dice": dice(result.mask, brain),
        "template_corr": float(np.corrcoef(image, template.t1_on_grid[brain])[0, 1]) if image.std() > 0 else 0.0,
    }


def _planes(volume: np.ndarray) -> list[np.ndarray]:
    x, y, z = (n // 2 for n in volume.shape)
    return [np.rot90(volume[x]), np.rot90(volume[:, y]), np.rot90(volume[:, :, z])]


def qc_figure(result: Preprocessed, template: Template, modality: str, title: str) -> Figure:
    """Registered ``modality`` on the model grid (sagittal, coronal, axial) with the template outline
    (yellow) and the estimated brain mask contour (red)."""
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.4))
    outline = template.t1_on_grid > 0
    for ax, image, tpl, mask in zip(
        axes, _planes(result.images[modality]), _planes(outline), _planes(result.mask), strict=True
    ):
        ax.imshow(image, cmap="gray", vmin=0, vmax=1)
        ax.contour(tpl, levels=[0.5], colors="yellow", linewidths=0.7)
        ax.contour(mask, levels=[0.5], colors="red", linewidths=0.7)
        ax.set_axis_off()
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig
