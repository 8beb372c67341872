"""Task families: which family each task belongs to, and what a family is scored and trained with.

A family groups the tasks that share an output kind and therefore an objective and a metric
(Neuralizer supplement, Sec. G): binary masks (``segmentation``, ``skull_strip``: soft Dice, scored by
Dice and by IoU, MVG's metric) and intensity images (``reconstruction``, ``transfer``: MSE, scored by PSNR, SSIM
and MAE).
This module is the one owner of that knowledge; the tasks (:mod:`neuroicl.tasks.catalog`), the
objectives (:mod:`neuroicl.models.losses`), the scoring (:mod:`neuroicl.evaluation.scoring`), Table 4
and the figures read it from here.

Example:
    >>> family_of("denoising"), PRIMARY[family_of("denoising")]
    ('reconstruction', 'psnr')
"""

from __future__ import annotations

#: Every family, in a fixed order (the index of a family in a training batch, ``Batch.family_ids``).
FAMILIES = ("segmentation", "skull_strip", "reconstruction", "transfer")

#: Families whose output is a binary mask (soft Dice); the others output intensities (MSE).
MASK_FAMILIES = ("segmentation", "skull_strip")

#: The metrics evaluation reports per family, the primary one (Table 4, the figures) first.
METRICS: dict[str, tuple[str, ...]] = {
    "segmentation": ("dice", "iou"),
    "skull_strip": ("dice", "iou"),
    "reconstruction": ("psnr", "ssim", "mae"),
    "transfer": ("psnr", "ssim", "mae"),
}

#: The metric Table 4 and the figures show for each family.
PRIMARY: dict[str, str] = {family: metrics[0] for family, metrics in METRICS.items()}

#: Every task's family (supplement C; Table 7). A new task adds its line here.
TASK_FAMILY: dict[str, str] = {
    "segmentation": "segmentation",
    "masking": "reconstruction",
    "modality_transfer": "transfer",
    "synthetic_transfer": "transfer",
    "skull_stripping": "skull_strip",
    "super_resolution": "reconstruction",
    "motion": "reconstruction",
    "undersampling": "reconstruction",
    "denoising": "reconstruction",
    "inpainting": "reconstruction",
}


def family_of(task: str) -> str:
    """The family of ``task``; an unknown task is an error listing the known ones."""
    if task not in TASK_FAMILY:
        raise ValueError(
            f"unknown task {task!r}: add it to neuroicl.plan.families.TASK_FAMILY; known: {sorted(TASK_FAMILY)}"
        )
    return TASK_FAMILY[task]


def outputs_image(task: str) -> bool:
    """Whether ``task`` outputs an intensity image (then the input itself, the identity, is a reference)."""
    return family_of(task) not in MASK_FAMILIES
