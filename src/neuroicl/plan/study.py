"""MetaSeg's own study (``training.runs.metaseg.study``): which runs it trains and reads, and its settings.

The study reads the MetaSeg segmentation run on all training subjects (``metaseg-segmentation-all``), the
U-Net segmentation run on all subjects (misalignment is shown next to it) and three ablation runs of its own
(:data:`ABLATION`, the paper's Table 2): MetaSeg's trainer and settings on the study's classes with another
initialisation — the SIREN's random one, one training image's fit ("fixed"), or meta-learning on the image
alone. Each is trained by the ``train`` rule like any run but is not a row of the comparison. When MetaSeg
pretrains a shared image-only start (``pretrain_steps``), the image-only run continues from that very start
(``start_from``: MetaSeg's model file) for MetaSeg's own ``steps``, so the two differ only in the mask.

Example:
    >>> study = MetaSegStudy.of(config, runs)
    >>> [run.name for run in study.ablation_runs]
    ['metaseg-ablation_random', 'metaseg-ablation_fixed', 'metaseg-ablation_image_only']
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from neuroicl.plan.runs import Run, model_file

#: The ablation's variants: run-name suffix -> the MetaSeg trainer settings that make it.
ABLATION = {"random": {"init": "random"}, "fixed": {"init": "fixed"}, "image_only": {"image_only": True}}
#: Legend names of the ablation's rows, MetaSeg's own last (the paper's Table 2 order).
ABLATION_NAMES = {"random": "Random init", "fixed": "Fixed init (one image's fit)",
                  "image_only": "Meta-learned, image only", "metaseg": "MetaSeg (image + mask)"}
STUDIED, COMPARED = "metaseg-segmentation-all", "unet-segmentation-all"


def ablation_run(variant: str) -> str:
    """The run name of the ablation's ``variant`` (a key of :data:`ABLATION`)."""
    return f"metaseg-ablation_{variant}"


@dataclass(frozen=True)
class MetaSegStudy:
    """The study's settings and runs.

    Attributes:
        labels: the evaluation classes studied.
        repeats: test slices per subject and class.
        steps: the test-time fitting steps T of Dice against T.
        rotations: misalignment levels in degrees; translations: in fractions of the image side.
        ablation_runs: the ablation's runs (:data:`ABLATION` order).
    """

    labels: tuple[str, ...]
    repeats: int
    steps: tuple[int, ...]
    rotations: tuple[float, ...]
    translations: tuple[float, ...]
    ablation_runs: tuple[Run, ...]

    studied = STUDIED
    compared = COMPARED

    @classmethod
    def of(cls, config: dict[str, Any], runs: list[Run]) -> MetaSegStudy | None:
        """The study of ``config`` (None without a ``training.runs.metaseg.study`` block), given its runs."""
        block = (config["training"]["runs"].get("metaseg") or {}).get("study")
        if not block:
            return None
        names = {run.name: run for run in runs}
        for needed, key in ((STUDIED, "training.runs.metaseg (tasks: segmentation, subjects: all)"),
                            (COMPARED, "training.runs.unet (tasks: segmentation, subjects: all)")):
            if needed not in names:
                raise ValueError(f"training.runs.metaseg.study reads run {needed!r}, which this config lacks: "
                                 f"add it to {key} or remove the study block")
        labels = tuple(block["labels"])
        unknown = sorted(set(labels) - set(config["evaluation"]["labels"]))
        if unknown:
            raise ValueError(f"training.runs.metaseg.study.labels {unknown} are not evaluation.labels "
                             f"({sorted(config['evaluation']['labels'])})")
        base = names[STUDIED]
        shared = {"image_only": {"start_from": model_file(STUDIED)}} if base.settings.get("pretrain_steps") else {}
        ablation = tuple(
            replace(base, name=ablation_run(suffix), variant=ABLATION_NAMES[suffix],
                    settings={**base.settings, **settings, **shared.get(suffix, {}), "labels": list(labels)})
            for suffix, settings in ABLATION.items())
        return cls(labels, int(block["repeats"]), tuple(int(t) for t in block["steps"]),
                   tuple(float(d) for d in block["rotations"]), tuple(float(s) for s in block["translations"]),
                   ablation)

    random = ablation_run("random")
    image_only = ablation_run("image_only")

    def ablation_names(self) -> dict[str, str]:
        """Legend name -> run name of every row of the ablation, MetaSeg's own last."""
        return {**{ABLATION_NAMES[variant]: ablation_run(variant) for variant in ABLATION},
                ABLATION_NAMES["metaseg"]: STUDIED}
