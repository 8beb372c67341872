"""MVG's own outputs (issue #18): which runs its Table 5 ablation trains and which runs its tables read.

Two tables, both at one prompt (L = 1, the paper's inference):

* **its metrics** (``mvg_tasks``): the run ``mvg`` on each task it is trained on, in MVG's metrics (mIoU for the
  mask tasks; MAE, PSNR, SSIM for the image tasks), next to the floor (``context_mean``: at L = 1 the prompt's
  label) and the input itself (``identity``, image tasks); present whenever the config has the run ``mvg``;
* **the Table 5 ablation** (``mvg_ablation``, with a ``training.runs.mvg.ablation`` block): five runs of its
  own (:data:`ABLATION`), each MVG's trainer on segmentation alone with one prompt and the block's ``steps`` —
  auto-regressive training with random colours (the paper's "isolated" training), block masks of 50 % and 75 %
  instead of AR (MIM), pre-defined and binary colours — next to ``mvg`` itself ("unified"). They are trained by
  the ``train`` rule and scored by the ``evaluate`` rule like any run (on the segmentation targets every run is
  scored on, at L = 1 only) but are not rows of the comparison.

Example:
    >>> study = MVGStudy.of(config, runs)
    >>> [run.name for run in study.ablation_runs]
    ['mvg-ablation_ar', 'mvg-ablation_mim50', 'mvg-ablation_mim75', 'mvg-ablation_predefined', 'mvg-ablation_binary']
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from neuroicl.plan.runs import VARIANTS, Run

#: The ablation's variants: run-name suffix -> (trainer settings, hyperparameters) over the ``mvg`` run's. Every
#: variant names its colours, so that ``models.hyperparameters.mvg.colours`` cannot change the AR and MIM rows.
ABLATION: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "ar": ({"segmentation_mask_ratio": None}, {"colours": "random"}),
    "mim50": ({"segmentation_mask_ratio": 0.5}, {"colours": "random"}),
    "mim75": ({"segmentation_mask_ratio": 0.75}, {"colours": "random"}),
    "predefined": ({"segmentation_mask_ratio": None}, {"colours": "predefined"}),
    "binary": ({"segmentation_mask_ratio": None}, {"colours": "binary"}),
}
#: Legend names of the ablation runs (their ``variant``).
ABLATION_NAMES = {"ar": "MVG (AR, isolated)", "mim50": "MVG (MIM 50 %)", "mim75": "MVG (MIM 75 %)",
                  "predefined": "MVG (pre-defined colours)", "binary": "MVG (binary colours)"}
#: The runs the study reads besides its own: MVG on its tasks ("unified"), the floor and the input itself.
STUDIED, FLOOR, IDENTITY = "mvg", "context_mean", "identity"
#: The task the ablation trains and scores, and the one prompt of every MVG output.
TASK, CONTEXT_SIZE = "segmentation", 1
#: The ablation table's rows in the paper's Table 5 order: (part, setting, run suffix; "unified": the run ``mvg``).
TABLE5 = (
    ("mask strategy", "AR", "ar"),
    ("mask strategy", "MIM 50 %", "mim50"),
    ("mask strategy", "MIM 75 %", "mim75"),
    ("colours", "random", "ar"),
    ("colours", "pre-defined", "predefined"),
    ("colours", "binary", "binary"),
    ("training", "unified", "unified"),
    ("training", "isolated", "ar"),
)


def ablation_run(variant: str) -> str:
    """The run name of the ablation's ``variant`` (a key of :data:`ABLATION`)."""
    return f"mvg-ablation_{variant}"


@dataclass(frozen=True)
class MVGStudy:
    """MVG's outputs: the runs they read and the ablation's runs.

    Attributes:
        tasks: the tasks of the run ``mvg`` (its metrics table's rows, in ``tasks.evaluated`` order).
        ablation_runs: the ablation's runs (:data:`ABLATION` order); empty without an ablation block.
    """

    tasks: tuple[str, ...]
    ablation_runs: tuple[Run, ...] = ()

    @classmethod
    def of(cls, config: dict[str, Any], runs: list[Run]) -> MVGStudy | None:
        """MVG's outputs in ``config`` given its runs: None without the run ``mvg`` (no ``training.runs.mvg``)."""
        block = config["training"]["runs"].get("mvg") or {}
        names = {run.name: run for run in runs}
        if STUDIED not in names:
            if block.get("ablation"):
                raise ValueError(f"training.runs.mvg.ablation compares with run {STUDIED!r}, which this config "
                                 "lacks: give training.runs.mvg its tasks or remove the ablation block")
            return None
        if CONTEXT_SIZE not in config["evaluation"]["context_sizes"]:
            raise ValueError(f"MVG's outputs (training.runs.mvg) are scored with one prompt: add {CONTEXT_SIZE} to "
                             f"evaluation.context_sizes (now {config['evaluation']['context_sizes']})")
        base = names[STUDIED]
        ablation = block.get("ablation")
        if not ablation:
            return cls(base.eval_tasks)
        if TASK not in base.eval_tasks:
            raise ValueError(f"training.runs.mvg.ablation trains and scores {TASK}: add it to training.runs.mvg.tasks "
                             "(with a positive tasks.weights entry, and to tasks.evaluated), or remove the block")
        runs_of = tuple(
            replace(base, name=ablation_run(suffix), variant=ABLATION_NAMES[suffix], eval_tasks=(TASK,),
                    weights={TASK: base.weights[TASK]}, steps=int(ablation["steps"]), max_context=CONTEXT_SIZE,
                    settings={**base.settings, **settings}, hparams={**base.hparams, **hparams})
            for suffix, (settings, hparams) in ABLATION.items())
        return cls(base.eval_tasks, runs_of)

    def ablation_rows(self) -> list[tuple[str, str, str]]:
        """The ablation table's rows (:data:`TABLE5`) as (part, setting, run name); empty without the ablation."""
        if not self.ablation_runs:
            return []
        return [(part, setting, STUDIED if suffix == "unified" else ablation_run(suffix))
                for part, setting, suffix in TABLE5]

    def ablation_inputs(self) -> list[str]:
        """The runs the ablation table reads, each once, in :data:`TABLE5` order."""
        return list(dict.fromkeys(run for _, _, run in self.ablation_rows()))

    def task_names(self) -> dict[str, str]:
        """Legend name -> run of the rows of MVG's metrics table: ``mvg``, the floor and the input itself."""
        return {VARIANTS[run]: run for run in (STUDIED, FLOOR, IDENTITY)}
