"""The runs of the comparison (Neuralizer issue #6): one trained or parameter-free predictor each.

A run is named by a Snakemake wildcard value and fully described by a :class:`Run`:

* ``neuralizer-seen`` — Neuralizer trained on every task with a positive ``tasks.weights`` entry;
* ``neuralizer-unseen-<task>`` — the same without ``<task>`` and its variants
  (``training.runs.neuralizer_unseen.exclude``), evaluated on ``<task>`` only;
* ``unet-<task>-n<k>`` / ``unet-<task>-all`` — a task-specific U-Net on ``k`` (or all) training subjects;
* ``universeg-<task>`` — UniverSeg-style in-context segmentation (segmentation, skull stripping);
* ``context_mean`` (the floor) and ``identity`` (input as prediction) — parameter-free, no training.

Example:
    >>> [run.name for run in catalogue(config, n_train=6)][:2]
    ['neuralizer-seen', 'neuralizer-unseen-segmentation']
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

#: Legend names of the model families (figures and Table 4).
VARIANTS = {
    "neuralizer-seen": "Neuralizer-seen",
    "neuralizer-unseen": "Neuralizer-unseen",
    "unet": "U-Net",
    "universeg": "UniverSeg",
    "context_mean": "Floor",
    "identity": "Identity",
}

#: Tasks whose output is an image the input already approximates (the identity reference applies).
IMAGE_TASKS = ("modality_transfer", "super_resolution", "motion", "undersampling", "denoising", "inpainting")


@dataclass(frozen=True)
class Run:
    """One predictor of the comparison.

    Attributes:
        name: the wildcard value (``results/train/<name>/model.pt``, ``results/metrics/<name>.csv``).
        model: ``neuralizer``, ``unet``, ``universeg``, ``context_mean`` or ``identity``.
        variant: legend name (:data:`VARIANTS`).
        eval_tasks: the tasks the run is scored on.
        weights: training task weights (empty: not trained).
        omit: augmentations never used in training (held-out variants).
        groups: augmentation groups used in training (``mask``, ``intensity``, ``channel``, ``spatial``).
        subjects: training subjects used (``None`` = all of the training split).
        steps: optimisation steps; batch_size: episodes per step.
        per_label: train one network per evaluation label (task-specific segmentation, whose target
            class cannot be read from the input).
    """

    name: str
    model: str
    variant: str
    eval_tasks: tuple[str, ...]
    weights: dict[str, float] = field(default_factory=dict)
    omit: tuple[str, ...] = ()
    groups: tuple[str, ...] = ("mask", "intensity", "channel", "spatial")
    subjects: int | None = None
    steps: int = 0
    batch_size: int = 0
    per_label: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain values (lists for tuples), e.g. for Snakemake params; :meth:`from_dict` inverts it."""
        return {key: list(v) if isinstance(v, tuple) else v for key, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Run:
        tuples = {"eval_tasks", "omit", "groups"}
        return cls(**{key: tuple(v) if key in tuples else v for key, v in values.items()})

    @property
    def trained(self) -> bool:
        return bool(self.weights)

    @property
    def in_context(self) -> bool:
        """Whether the prediction uses the context set (U-Net and identity ignore it)."""
        return self.model not in ("unet", "identity")

    @property
    def uses_cases(self) -> bool:
        """Whether training draws evaluation-style cases (fixed label/modality map) instead of Table 7 episodes."""
        return self.model == "unet"


def subject_counts(requested: list[int | str], n_train: int) -> list[int]:
    """U-Net training-subject counts, capped by the dataset: ``[1, 2, 4, 8, 'all']`` with 6 → ``[1, 2, 4, 6]``."""
    counts = {n_train if k == "all" else min(int(k), n_train) for k in requested}
    return sorted(c for c in counts if c >= 1)


def catalogue(config: dict[str, Any], n_train: int) -> list[Run]:
    """Every run of ``config`` (keys ``tasks``, ``training``), for a training split of ``n_train`` subjects."""
    tasks = config["tasks"]
    runs_cfg = config["training"]["runs"]
    evaluated = tuple(tasks["evaluated"])
    weights = {name: float(w) for name, w in tasks["weights"].items() if w > 0}
    seen = runs_cfg["neuralizer_seen"]
    runs = [
        Run("neuralizer-seen", "neuralizer", VARIANTS["neuralizer-seen"], evaluated, weights,
            steps=seen["steps"], batch_size=seen["batch_size"]),
    ]
    unseen = runs_cfg["neuralizer_unseen"]
    for task in unseen["tasks"]:
        exclude = unseen["exclude"].get(task, {})
        dropped = {task, *exclude.get("tasks", [])}
        kept = {name: w for name, w in weights.items() if name not in dropped}
        runs.append(
            Run(f"neuralizer-unseen-{task}", "neuralizer", VARIANTS["neuralizer-unseen"], (task,), kept,
                omit=tuple(exclude.get("augmentations", [])), steps=unseen["steps"], batch_size=unseen["batch_size"])
        )
    unet = runs_cfg["unet"]
    for task in unet["tasks"]:
        for k in subject_counts(unet["subjects"], n_train):
            label = "all" if k == n_train else f"n{k}"
            runs.append(
                Run(f"unet-{task}-{label}", "unet", VARIANTS["unet"], (task,), {task: 1.0},
                    groups=tuple(unet["augmentations"]), subjects=None if k == n_train else k,
                    steps=unet["steps"], batch_size=unet["batch_size"], per_label=task == "segmentation")
            )
    universeg = runs_cfg["universeg"]
    for task in universeg["tasks"]:
        runs.append(
            Run(f"universeg-{task}", "universeg", VARIANTS["universeg"], (task,), {task: 1.0},
                groups=tuple(universeg["augmentations"]), steps=universeg["steps"], batch_size=universeg["batch_size"])
        )
    runs.append(Run("context_mean", "context_mean", VARIANTS["context_mean"], evaluated))
    runs.append(Run("identity", "identity", VARIANTS["identity"], tuple(t for t in evaluated if t in IMAGE_TASKS)))
    names = [run.name for run in runs]
    if len(set(names)) != len(names):
        raise ValueError(f"run names repeat: {names}")
    bad = [name for name in names if not re.fullmatch(r"[a-z_]+(-[a-z0-9_]+)*", name)]
    if bad:
        raise ValueError(f"run names {bad} are not valid wildcard values")
    return runs


def by_name(runs: list[Run], name: str) -> Run:
    """The run called ``name``; the error lists the valid names."""
    for run in runs:
        if run.name == name:
            return run
    raise ValueError(f"unknown run {name!r}; runs of this config: {[r.name for r in runs]}")
