"""The runs of the comparison: one trained or parameter-free predictor each, listed by catalogue entries.

A run is named by a Snakemake wildcard value and fully described by a :class:`Run`. Each
*catalogue entry* turns the config into runs (:data:`ENTRIES`, in order):

* ``neuralizer_seen`` → ``neuralizer-seen``: Neuralizer trained on every task with a positive
  ``tasks.weights`` entry;
* ``neuralizer_unseen`` → ``neuralizer-unseen-<task>``: the same without ``<task>`` and its variants
  (``training.runs.neuralizer_unseen.exclude``), evaluated on ``<task>`` only;
* ``neuralizer_released`` → ``neuralizer-released``: the authors' released weights, not trained here: its model
  file is converted from a registry download (:mod:`neuroicl.models.released`); optional;
* ``unet`` → ``unet-<task>-n<k>`` / ``unet-<task>-all``: a task-specific U-Net on ``k`` (or all)
  training subjects;
* ``universeg`` → ``universeg-<task>``: UniverSeg-style in-context segmentation;
* ``metaseg`` → ``metaseg-<task>-n<k>`` / ``metaseg-<task>-all``: MetaSeg (meta-learned INR, fitted to each
  test image) on ``k`` (or all) training subjects, with its own trainer; optional;
* ``mvg`` → ``mvg`` (and ``mvg-all``): MVG, an in-context ViT over image/label canvases trained on the tasks
  its paper covers (and on every training task), with its own trainer; optional;
* ``context_mean`` (the floor) and ``identity`` (input as prediction): parameter-free, no training.

A new comparator adds one entry with :func:`entry` (docs/extending.md); what makes it different from
the others is said by the fields of its runs (context or none, a context cap, a trainer of its own,
unlabeled target images), never by its name in training or evaluation code.

Example:
    >>> [run.name for run in catalogue(config, n_train=6)][:2]
    ['neuralizer-seen', 'neuralizer-unseen-segmentation']
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from neuroicl.plan.families import outputs_image

#: Legend names of the model families (figures and Table 4).
VARIANTS = {
    "neuralizer-seen": "Neuralizer-seen",
    "neuralizer-unseen": "Neuralizer-unseen",
    "neuralizer-released": "Neuralizer (released)",
    "unet": "U-Net",
    "universeg": "UniverSeg",
    "metaseg": "MetaSeg",
    "mvg": "MVG",
    "mvg-all": "MVG (all tasks)",
    "context_mean": "Floor",
    "identity": "Identity",
}

#: The trainer of every run that sets none: gradient descent on synthesised episodes (:mod:`neuroicl.training`).
EPISODES = "episodes"


@dataclass(frozen=True)
class Run:
    """One predictor of the comparison.

    Attributes:
        name: the wildcard value (``results/train/<name>/model.pt``, ``results/evaluate/<name>/``).
        model: a model of :data:`neuroicl.models.factory.MODELS` (its hyperparameters:
            ``models.hyperparameters.<model>``).
        variant: legend name (:data:`VARIANTS`).
        eval_tasks: the tasks the run is scored on.
        weights: training task weights (empty: not trained).
        omit: augmentations never used in training (held-out variants).
        groups: augmentation groups used in training (``mask``, ``intensity``, ``channel``, ``spatial``).
        subjects: training subjects used (``None`` = all of the training split).
        steps: optimisation steps; batch_size: episodes per step.
        per_label: train one network per evaluation label (task-specific segmentation, whose target
            class cannot be read from the input).
        in_context: the prediction uses the context set (scored at every context size L); otherwise
            it is scored once per target, with an empty ``context_size``.
        uses_cases: training draws evaluation-style cases (fixed label/modality map) instead of
            Table 7 episodes.
        max_context: the largest context set the model takes (None: any); training draws at most
            this many context pairs and evaluation scores the context sizes up to it.
        target_images: training also receives the test split's images without their labels or
            outputs (the unlabeled target domain of domain adaptation).
        trainer: how the run is trained (:data:`neuroicl.training.runner.TRAINERS`).
        hparams: hyperparameters that replace those of ``models.hyperparameters.<model>`` for this run.
        settings: the settings of the run's own trainer (e.g. MetaSeg's inner loop), or of the conversion of its
            released weights, from its config block.
        weights_from: the registry entry (``resources/datasets/registry.yaml``) of released weights its model file
            is converted from instead of training (None: trained here, or parameter-free).
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
    in_context: bool = True
    uses_cases: bool = False
    max_context: int | None = None
    target_images: bool = False
    trainer: str = EPISODES
    hparams: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    weights_from: str | None = None

    def __post_init__(self) -> None:
        if self.max_context is not None and self.max_context < 1:
            raise ValueError(f"run {self.name!r}: max_context must be None or >= 1, got {self.max_context}")

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
    def has_model_file(self) -> bool:
        """Whether evaluation reads a model file (``results/train/<name>/model.pt``): trained, or converted."""
        return self.trained or self.weights_from is not None

    def context_sizes(self, sizes: tuple[int, ...]) -> list[int | None]:
        """The context sizes this run is scored at among ``sizes`` (``[None]``: once, without context)."""
        if not self.in_context:
            return [None]
        return [size for size in sizes if self.max_context is None or size <= self.max_context]


#: A catalogue entry: ``(config, n_train) -> runs``, reading its own ``training.runs.<name>`` block.
Entry = Callable[[dict[str, Any], int], list[Run]]

#: The catalogue entries, in the order their runs are listed (register with :func:`entry`).
ENTRIES: dict[str, Entry] = {}


def model_file(name: str) -> str:
    """The model file of run ``name``, relative to the workflow's root (``results/train/<name>/model.pt``)."""
    return f"results/train/{name}/model.pt"


def entry(name: str) -> Callable[[Entry], Entry]:
    """Decorator registering a catalogue entry under ``name`` (its config block ``training.runs.<name>``)."""

    def register(build: Entry) -> Entry:
        if name in ENTRIES:
            raise ValueError(f"catalogue entry {name!r} is registered twice")
        ENTRIES[name] = build
        return build

    return register


def _trained_weights(config: dict[str, Any]) -> dict[str, float]:
    return {name: float(w) for name, w in config["tasks"]["weights"].items() if w > 0}


def subject_counts(requested: list[int | str], n_train: int) -> list[int]:
    """U-Net training-subject counts, capped by the dataset: ``[1, 2, 4, 8, 'all']`` with 6 → ``[1, 2, 4, 6]``."""
    counts = {n_train if k == "all" else min(int(k), n_train) for k in requested}
    return sorted(c for c in counts if c >= 1)


@entry("neuralizer_seen")
def _neuralizer_seen(config: dict[str, Any], n_train: int) -> list[Run]:
    block = config["training"]["runs"]["neuralizer_seen"]
    return [Run("neuralizer-seen", "neuralizer", VARIANTS["neuralizer-seen"], tuple(config["tasks"]["evaluated"]),
                _trained_weights(config), steps=block["steps"], batch_size=block["batch_size"])]


@entry("neuralizer_unseen")
def _neuralizer_unseen(config: dict[str, Any], n_train: int) -> list[Run]:
    block = config["training"]["runs"]["neuralizer_unseen"]
    runs = []
    for task in block["tasks"]:
        exclude = block["exclude"].get(task, {})
        dropped = {task, *exclude.get("tasks", [])}
        kept = {name: w for name, w in _trained_weights(config).items() if name not in dropped}
        runs.append(Run(f"neuralizer-unseen-{task}", "neuralizer", VARIANTS["neuralizer-unseen"], (task,), kept,
                        omit=tuple(exclude.get("augmentations", [])), steps=block["steps"],
                        batch_size=block["batch_size"]))
    return runs


@entry("neuralizer_released")
def _neuralizer_released(config: dict[str, Any], n_train: int) -> list[Run]:
    block = config["training"]["runs"].get("neuralizer_released")
    if not block:
        return []
    return [Run("neuralizer-released", "neuralizer", VARIANTS["neuralizer-released"],
                tuple(config["tasks"]["evaluated"]), weights_from=block["entry"],
                settings={"ignore_keys": list(block.get("ignore_keys", []))})]


def _subject_sweep(model: str, block: dict[str, Any], n_train: int, **fields: Any) -> list[Run]:
    """Task-specific runs ``<model>-<task>-n<k>`` / ``-all`` of a block with ``tasks`` and ``subjects``: trained
    on evaluation cases of their task, one network per segmentation class, without context. The run on all
    subjects takes the block's ``all_hyperparameters`` and ``all_steps`` where it has them, and for a task named in
    ``all_task_steps`` (not null) those steps instead."""
    per_task = dict(block.get("all_task_steps") or {})  # names checked by the schema; a task not run, or null: unused
    runs = []
    for task in block["tasks"]:
        for k in subject_counts(block["subjects"], n_train):
            every = k == n_train
            hparams = dict(block.get("all_hyperparameters") or {}) if every else {}
            steps = int(per_task.get(task) or block.get("all_steps") or block["steps"]) if every else block["steps"]
            runs.append(Run(f"{model}-{task}-{'all' if every else f'n{k}'}", model, VARIANTS[model], (task,),
                            {task: 1.0}, groups=tuple(block["augmentations"]), subjects=None if every else k,
                            steps=steps, batch_size=block["batch_size"], per_label=task == "segmentation",
                            in_context=False, uses_cases=True, hparams=hparams, **fields))
    return runs


@entry("unet")
def _unet(config: dict[str, Any], n_train: int) -> list[Run]:
    return _subject_sweep("unet", config["training"]["runs"]["unet"], n_train)


@entry("universeg")
def _universeg(config: dict[str, Any], n_train: int) -> list[Run]:
    block = config["training"]["runs"]["universeg"]
    settings = {"lr": block["lr"]} if "lr" in block else {}
    return [Run(f"universeg-{task}", "universeg", VARIANTS["universeg"], (task,), {task: 1.0},
                groups=tuple(block["augmentations"]), steps=block["steps"], batch_size=block["batch_size"],
                settings=settings)
            for task in block["tasks"]]


#: The keys of ``training.runs.metaseg`` that set its trainer (:class:`neuroicl.training.metaseg.MetaSegSettings`).
METASEG_SETTINGS = ("inner_steps", "order", "pixels", "outer_pixels", "gamma", "outer_lr", "head_steps", "head_lr",
                    "head_images", "head_pixels", "pretrain_steps")


@entry("metaseg")
def _metaseg(config: dict[str, Any], n_train: int) -> list[Run]:
    block = config["training"]["runs"].get("metaseg")
    if not block:
        return []
    settings = {key: block[key] for key in METASEG_SETTINGS if key in block}
    return _subject_sweep("metaseg", block, n_train, trainer="metaseg", settings=settings)


#: The keys of ``training.runs.mvg`` that set its trainer (:class:`neuroicl.training.mvg.MVGSettings`).
MVG_SETTINGS = ("lr", "mask_ratio", "half_mask_ratio", "background_weight", "layer_decay", "weight_decay")


@entry("mvg")
def _mvg(config: dict[str, Any], n_train: int) -> list[Run]:
    block = config["training"]["runs"].get("mvg")
    if not block:
        return []
    settings = {key: block[key] for key in MVG_SETTINGS if key in block}
    weights = _trained_weights(config)
    sets = [("mvg", block["tasks"])] + ([("mvg-all", list(weights))] if block.get("all_tasks") else [])
    runs = []
    for name, tasks in sets:
        kept = {task: w for task, w in weights.items() if task in tasks}
        evaluated = tuple(task for task in config["tasks"]["evaluated"] if task in kept)
        runs.append(Run(name, "mvg", VARIANTS[name], evaluated, kept, groups=tuple(block["augmentations"]),
                        steps=block["steps"], batch_size=block["batch_size"], max_context=block.get("max_context"),
                        trainer="mvg", settings=settings))
    return runs


@entry("context_mean")
def _context_mean(config: dict[str, Any], n_train: int) -> list[Run]:
    return [Run("context_mean", "context_mean", VARIANTS["context_mean"], tuple(config["tasks"]["evaluated"]))]


@entry("identity")
def _identity(config: dict[str, Any], n_train: int) -> list[Run]:
    tasks = tuple(task for task in config["tasks"]["evaluated"] if outputs_image(task))
    return [Run("identity", "identity", VARIANTS["identity"], tasks, in_context=False)]


def catalogue(config: dict[str, Any], n_train: int) -> list[Run]:
    """Every run of ``config`` (keys ``tasks``, ``training``), for a training split of ``n_train`` subjects."""
    runs = [run for build in ENTRIES.values() for run in build(config, n_train)]
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
