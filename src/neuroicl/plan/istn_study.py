"""ISTN's own study (config block ``istn``): image-level domain adaptation between the sites of one dataset.

Robinson et al., MICCAI 2020 (Sec. 2, 4): a task model T_S trained on one site (the *source*) degrades on another
(the *target*); an ISTN trained adversarially maps source images to the target site, and a task model T_S2T
retrained on the transformed source images (from scratch or fine-tuned from T_S) recovers part of the loss,
without a target label. The study is its own set of jobs, not runs of Table 4:

* ``istn_source``: T_S per task and source site (``results/train/istn/<dataset>/<task>/<site>/source/``);
* ``istn_adapt``: one ISTN + T_S2T per task, pair and variant
  (``results/train/istn/<dataset>/<task>/<pair>/<variant>/``); a variant is an ISTN mode (Table 2's rows: ITN,
  affine STN, B-spline STN, ITN + STN), a direction (uni, or bi = CycleGAN) and the task model's start (scratch,
  or fine-tuned from T_S);
* ``istn_evaluate``: T_S on the source test split (the single-site ceiling) and on the target, each T_S2T on the
  target, per task and pair (``results/evaluate/istn/<dataset>/<task>/<pair>/scores.csv``); then the table
  (Tables 2-3) and the figure (Figs. 3-4).

Torch-free: the workflow reads it while it builds the DAG.

Example:
    >>> study = ISTNStudy.of(config, datasets, cohort)
    >>> study.pair_names(), [v.name for v in study.variants]
    (['siteA-siteC'], ['itn-affine_uni_scratch', 'itn-affine_uni_finetune'])
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from neuroicl.plan.cohort import CohortSpec
from neuroicl.plan.datasets import DatasetSpec

#: The downstream tasks: the covariates of ``participants.tsv`` (Sec. 3.2) and our segmentation.
TASKS = ("sex", "age", "segmentation")
#: ISTN modes (:data:`neuroicl.models.istn.MODES`, checked equal by a test): Table 2's ITN / STN rows.
MODES = ("itn", "affine", "bspline", "itn+affine", "itn+bspline")
#: Training schemes (Fig. 1): uni-directional (Eq. 2) and bi-directional, CycleGAN (Eq. 3).
DIRECTIONS = ("uni", "bi")
#: The adapted task model's start (Tables 1-2, Acc_s and Acc_f): from scratch, or fine-tuned from T_S.
INITS = ("scratch", "finetune")
#: Split parts a subject can be in (:mod:`neuroicl.data.splits`).
PARTS = ("train", "val", "test")
#: Sites of the real datasets whose adapters record one (IXI's file names: ``IXI002-Guys-0828-T1.nii.gz``).
REAL_SITES = {"ixi": ("Guys", "HH", "IOP")}
#: The U-Net's output channels: the most segmentation classes one task model predicts.
MAX_CLASSES = 3


@dataclass(frozen=True)
class Variant:
    """One adapted model of a pair: ISTN ``mode``, ``direction`` and the task model's ``init``."""

    mode: str
    direction: str
    init: str

    def __post_init__(self) -> None:
        for key, value, allowed in (("modes", self.mode, MODES), ("directions", self.direction, DIRECTIONS),
                                    ("inits", self.init, INITS)):
            if value not in allowed:
                raise ValueError(f"istn.{key}: {value!r} is not one of {list(allowed)}")

    @property
    def name(self) -> str:
        """Its folder name, e.g. ``itn-affine_uni_scratch`` ('+' of the mode written '-')."""
        return f"{self.mode.replace('+', '-')}_{self.direction}_{self.init}"

    @property
    def adaptation(self) -> str:
        """The job that trains it, ``<mode>_<direction>``: one ISTN for every init."""
        return self.name.rsplit("_", 1)[0]

    @classmethod
    def from_name(cls, name: str) -> Variant:
        """The inverse of :attr:`name`."""
        try:
            mode, direction, init = name.split("_")
        except ValueError:
            raise ValueError(f"{name!r} is not an ISTN variant name (<mode>_<direction>_<init>)") from None
        return cls(mode.replace("-", "+"), direction, init)


def pair_name(source: str, target: str) -> str:
    """The folder name of a source -> target pair, ``<source>-<target>`` (site names are letters and digits)."""
    return f"{source}-{target}"


@dataclass(frozen=True)
class ISTNStudy:
    """The study's domains, tasks, variants and the settings its jobs read.

    Attributes:
        dataset: the dataset whose sites are the domains.
        modalities: the input channels (C = their number, 1-3).
        tasks: downstream tasks (:data:`TASKS`).
        labels: segmentation classes, name -> label ids (from ``evaluation.labels``).
        pairs: (source, target) sites.
        variants: the adapted models of every pair (modes x directions x inits, in config order).
        transductive: the ISTN sees every target-site subject's images and the target scores are on them;
            otherwise it sees the target's training split and is scored on its test split.
        selection: the split part of the source site whose transformed images select the task model.
        settings: what training reads (``batch_size``, ``source``, ``adaptation``, ``hyperparameters``; and from
            ``training``: ``seed``, ``device``, ``checkpoint_every``, ``log_every``).
        figure_subjects: source subjects shown in the figure (test subjects first).
        slices: the first and last slice position the study reads (the slice store's ``slice``: the voxel index
            along the slicing axis of the model grid, so a fixed slab in MNI space, read from no label); None =
            every stored slice.
    """

    dataset: str
    modalities: tuple[str, ...]
    tasks: tuple[str, ...]
    labels: dict[str, tuple[int, ...]]
    pairs: tuple[tuple[str, str], ...]
    variants: tuple[Variant, ...]
    transductive: bool
    selection: str
    settings: dict[str, Any]
    figure_subjects: int
    slices: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.slices is None:
            return
        slab = tuple(int(position) for position in self.slices)
        if len(slab) != 2 or not 0 <= slab[0] <= slab[1]:
            raise ValueError("istn.slices must be [first, last] slice positions with 0 <= first <= last, got "
                             f"{list(self.slices)}")
        object.__setattr__(self, "slices", slab)

    @classmethod
    def of(cls, config: dict[str, Any], datasets: dict[str, DatasetSpec],
           cohort: CohortSpec | None = None) -> ISTNStudy | None:
        """The study of a (schema-validated) config, or None without an ``istn`` block.

        Raises:
            ValueError: naming the ``istn`` key whose value the datasets cannot serve.
        """
        block = config.get("istn")
        if not block:
            return None
        dataset = block["dataset"]
        if dataset not in datasets:
            raise ValueError(f"istn.dataset {dataset!r} is not a dataset of this config ({sorted(datasets)})")
        spec = datasets[dataset]
        modalities = tuple(block["modalities"])
        missing = [m for m in modalities if m not in spec.modalities]
        if missing or not 1 <= len(modalities) <= MAX_CLASSES:
            raise ValueError(f"istn.modalities {list(modalities)}: 1-{MAX_CLASSES} of dataset {dataset!r}'s "
                             f"{list(spec.modalities)}")
        tasks = tuple(block["tasks"])
        if "segmentation" in tasks and not spec.labelled:
            raise ValueError(f"istn.tasks: segmentation needs label maps, which dataset {dataset!r} lacks; "
                             "remove it or use a labelled dataset")
        names = list(block.get("labels") or [])
        unknown = sorted(set(names) - set(config["evaluation"]["labels"]))
        if unknown or len(names) > MAX_CLASSES or ("segmentation" in tasks and not names):
            raise ValueError(f"istn.labels {names}: 1-{MAX_CLASSES} names of evaluation.labels "
                             f"({sorted(config['evaluation']['labels'])})")
        labels = {name: tuple(int(i) for i in config["evaluation"]["labels"][name]) for name in names}
        sites = _sites(spec, cohort)
        pairs = tuple((str(s), str(t)) for s, t in block["pairs"])
        for source, target in pairs:
            bad = [site for site in (source, target) if sites is not None and site not in sites]
            if bad or source == target:
                raise ValueError(f"istn.pairs [{source}, {target}]: two different sites of dataset {dataset!r} "
                                 f"({list(sites) if sites is not None else 'sites known once adapted'})")
        variants = tuple(Variant(m, d, i) for m in block["modes"] for d in block["directions"] for i in block["inits"])
        if len({v.name for v in variants}) != len(variants) or len(set(pairs)) != len(pairs):
            raise ValueError("istn.modes, directions, inits and pairs must not repeat an entry")
        if block["selection"] not in PARTS:
            raise ValueError(f"istn.selection must be one of {list(PARTS)}, got {block['selection']!r}")
        training = config["training"]
        settings = {key: block[key] for key in ("batch_size", "source", "adaptation", "hyperparameters")}
        settings |= {key: training[key] for key in ("seed", "device", "checkpoint_every", "log_every")}
        return cls(dataset, modalities, tasks, labels, pairs, variants, bool(block["transductive"]),
                   block["selection"], settings, int(block["figure"]["subjects"]), block.get("slices"))

    # --- names and paths -------------------------------------------------------------------------------------

    def pair_names(self) -> list[str]:
        return [pair_name(s, t) for s, t in self.pairs]

    def pair(self, name: str) -> tuple[str, str]:
        """The (source, target) of a pair name (the error lists the pairs)."""
        for source, target in self.pairs:
            if pair_name(source, target) == name:
                return source, target
        raise ValueError(f"{name!r} is not an ISTN pair of this config ({self.pair_names()})")

    def sources(self) -> list[str]:
        """The source sites, each once, in pair order."""
        return list(dict.fromkeys(source for source, _ in self.pairs))

    def variant_names(self) -> list[str]:
        return [variant.name for variant in self.variants]

    def folder(self, task: str, part: str, stage: str = "train") -> str:
        """``results/<stage>/istn/<dataset>/<task>/<part>`` (``part``: a site or a pair name; ``stage``: ``train``
        for models, ``evaluate`` for scores)."""
        return f"results/{stage}/istn/{self.dataset}/{task}/{part}"

    def source_model(self, task: str, site: str) -> str:
        return f"{self.folder(task, site)}/source/model.pt"

    def adaptations(self) -> list[str]:
        """The adaptation jobs of a task and pair, ``<mode>_<direction>`` (each trains every init, one ISTN)."""
        return list(dict.fromkeys(variant.adaptation for variant in self.variants))

    def inits(self) -> list[str]:
        return list(dict.fromkeys(variant.init for variant in self.variants))

    def adapted_model(self, task: str, pair: str, adaptation: str, init: str) -> str:
        return f"{self.folder(task, pair)}/{adaptation}/{init}.pt"

    def scores(self, task: str, pair: str) -> str:
        return f"{self.folder(task, pair, 'evaluate')}/scores.csv"

    def every_scores(self) -> list[str]:
        """Every task x pair's scores, in config order."""
        return [self.scores(task, pair) for task in self.tasks for pair in self.pair_names()]

    def figure_models(self) -> dict[str, str]:
        """Mode -> adapted model shown in the figure: the first task and pair, each mode's first direction and
        init (the paper's Fig. 4 shows one model per STN)."""
        task, pair, shown = self.tasks[0], self.pair_names()[0], {}
        for variant in self.variants:
            shown.setdefault(variant.mode, self.adapted_model(task, pair, variant.adaptation, variant.init))
        return shown

    def subjects(self, splits: dict[str, list[str]], role: str) -> list[str]:
        """The split's subjects a domain takes, of every site (the readers keep the site's): ``role`` ``train`` and
        ``selection`` (the source's labelled parts: ``train``, ``istn.selection``), ``target`` (the ISTN's target
        images: every part with ``istn.transductive``, else ``train``), ``ceiling`` (the source's ``test``) and
        ``scored`` (the target subjects scored: every part with ``istn.transductive``, else ``test``); ``figure``
        lists the test, then validation, then training subjects (the figure shows the first)."""
        every = list(PARTS)
        parts = {"train": ["train"], "selection": [self.selection], "ceiling": ["test"],
                 "target": every if self.transductive else ["train"],
                 "scored": every if self.transductive else ["test"]}
        if role == "figure":
            return [s for part in ("test", "val", "train") for s in sorted(splits.get(part, []))]
        if role not in parts:
            raise ValueError(f"domain role must be one of {sorted(parts) + ['figure']}, got {role!r}")
        return sorted(s for part in parts[role] for s in splits.get(part, []))

    def to_dict(self) -> dict[str, Any]:
        """Plain values (lists for tuples), e.g. for Snakemake params; :meth:`from_dict` inverts it."""
        values = asdict(self)
        values["variants"] = [variant.name for variant in self.variants]
        values["labels"] = {name: list(ids) for name, ids in self.labels.items()}
        values["pairs"] = [list(pair) for pair in self.pairs]
        return {key: list(v) if isinstance(v, tuple) else v for key, v in values.items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ISTNStudy:
        return cls(values["dataset"], tuple(values["modalities"]), tuple(values["tasks"]),
                   {name: tuple(ids) for name, ids in values["labels"].items()},
                   tuple((s, t) for s, t in values["pairs"]),
                   tuple(Variant.from_name(name) for name in values["variants"]), values["transductive"],
                   values["selection"], dict(values["settings"]), values["figure_subjects"], values.get("slices"))


def _sites(spec: DatasetSpec, cohort: CohortSpec | None) -> tuple[str, ...] | None:
    """The site names of a dataset: the cohort's, a real kind's (:data:`REAL_SITES`), or None (unknown)."""
    if not spec.real:
        return tuple(site.name for site in cohort.sites) if cohort is not None else None
    return REAL_SITES.get(spec.kind)
