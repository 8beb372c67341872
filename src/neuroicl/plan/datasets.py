"""The datasets a run uses (config ``datasets:``): the embedded cohort, or real datasets adapted to the
common raw layout (:mod:`neuroicl.plan.layout`).

Every dataset lives under ``resources/<name>/`` and is preprocessed, split and sliced on its own
(``results/<stage>/<name>/…``); training and evaluation read all of them (supplement G). What the
workflow must know before anything is downloaded — subject ids, modalities, file paths, the size
of each split part — comes from here, without importing the science stack.

Example:
    >>> specs = datasets_from_config({"datasets": [{"name": "ixi", "kind": "ixi", "n_subjects": 570}]})
    >>> specs[0].modalities, specs[0].subject_ids()[-1]
    (('T1w', 'T2w', 'PDw'), 'sub-0570')

A local BIDS folder (``kind: bids``) names its ``path``, the ``modalities`` every kept subject must
have and whether it is ``labelled``; it needs no download (docs/datasets.md, "Your own BIDS dataset").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuroicl.plan import layout
from neuroicl.plan.cohort import CohortSpec
from neuroicl.plan.splits import split_sizes

EMBEDDED = "embedded"
#: A local BIDS folder brought to the common layout by :mod:`neuroicl.datasets.adapters.bids`.
BIDS = "bids"

#: Registry entries behind data-use agreements: the download rule stops with instructions, then
#: validates what the user placed (``resources/datasets/registry.yaml``).
MANUAL_ENTRIES = ("adni", "ukbiobank")


@dataclass(frozen=True)
class DatasetSpec:
    """One entry of ``datasets:``.

    Attributes:
        name: folder name under ``resources/`` and ``results/<stage>/``.
        kind: ``embedded`` or a kind of :data:`neuroicl.plan.layout.KINDS`.
        n_subjects: subjects kept (embedded: ``cohort.n_subjects``; real: what the adapter must find).
        modalities: images every subject has, in channel order.
        labelled: whether label maps (``dseg``) exist.
        truth: whether truth files (brain mask, bias field, pose) exist for preprocessing QC.
        archives: registry entries the adapter reads (none for embedded and local BIDS folders).
        path: the local BIDS folder of a ``bids`` dataset (None for the other kinds).
    """

    name: str
    kind: str
    n_subjects: int
    modalities: tuple[str, ...]
    labelled: bool
    truth: bool
    archives: tuple[str, ...] = ()
    path: str | None = None

    @property
    def real(self) -> bool:
        return self.kind != EMBEDDED

    def subject_ids(self) -> list[str]:
        """Participant ids in order (``sub-001`` … for the cohort, ``sub-0001`` … for adapted datasets)."""
        if self.real:
            return layout.participant_ids(self.n_subjects)
        return [f"sub-{i + 1:03d}" for i in range(self.n_subjects)]

    def subject_paths(self, root: str, subject: str, cohort: CohortSpec | None = None) -> dict[str, str]:
        """Every raw file of one subject (images, label map, and for the cohort its truth files)."""
        if self.real:
            return layout.subject_paths(root, subject, self.modalities, self.labelled)
        if cohort is None:
            raise ValueError(f"dataset {self.name!r} is the embedded cohort: its paths need the cohort spec")
        return cohort.subject_paths(root, subject)


def datasets_from_config(config: dict[str, Any], cohort: CohortSpec | None = None) -> list[DatasetSpec]:
    """The (schema-validated) ``datasets`` list as specs; the embedded kind needs ``cohort``.

    Raises:
        ValueError: on repeated names, or an embedded dataset without a ``cohort`` block.
    """
    specs = []
    for entry in config["datasets"]:
        name, kind = entry["name"], entry["kind"]
        if kind == EMBEDDED:
            if cohort is None:
                raise ValueError(f"datasets: {name!r} is the embedded cohort, but the config has no `cohort:` block")
            specs.append(DatasetSpec(name, kind, cohort.n_subjects, tuple(cohort.modalities), True, True))
            continue
        if kind == BIDS:
            modalities, labelled = tuple(entry["modalities"]), bool(entry.get("labelled", False))
            n_subjects = int(entry["n_subjects"])
            specs.append(DatasetSpec(name, kind, n_subjects, modalities, labelled, False, (), entry["path"]))
            continue
        if kind not in layout.KINDS:
            raise ValueError(f"datasets: {name!r} has kind {kind!r}; kinds: {[EMBEDDED, BIDS, *layout.KINDS]}")
        spec = layout.KINDS[kind]
        specs.append(
            DatasetSpec(name, kind, int(entry["n_subjects"]), spec.modalities, spec.labelled, False, spec.archives)
        )
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names) or sum(not spec.real for spec in specs) > 1:
        raise ValueError(f"datasets: names must be unique and the embedded cohort used at most once, got {names}")
    return specs


def check_local_folders(specs: list[DatasetSpec]) -> None:
    """Stop if a ``bids`` dataset's ``path`` is not a folder (relative paths: from the working directory).

    Kept out of :func:`datasets_from_config` so that a plan can be built where the data is not.

    Raises:
        ValueError: naming the key (``datasets[<i>].path``), the dataset and the path.
    """
    for index, spec in enumerate(specs):
        if spec.path is not None and not Path(spec.path).is_dir():
            raise ValueError(
                f"datasets[{index}].path: the BIDS folder of dataset {spec.name!r}, {spec.path!r}, is not a folder "
                f"(looked in {Path(spec.path).absolute()}); fix the path or remove the dataset"
            )


def planned_split_sizes(spec: DatasetSpec, splits: dict[str, Any], cohort: CohortSpec | None = None) -> dict[str, int]:
    """Subjects per part (train, val, test) of ``spec``'s split, known before its participants exist.

    The cohort: exact (its sites take subjects round robin, and :func:`neuroicl.data.splits.make_splits`
    sizes each site's parts with :func:`neuroicl.plan.splits.part_sizes`). A real dataset: as if it had
    one site, exact for a one-site dataset; with several sites per-site rounding moves at most one
    subject per site and part. The training count only names the U-Net runs (``n<k>`` capped by it,
    the cap called ``all``) and training caps ``k`` at the subjects it finds, so an estimate a few
    subjects off never breaks the DAG.
    """
    if spec.real:
        sites = [spec.n_subjects]
    elif cohort is None:
        raise ValueError(f"dataset {spec.name!r} is the embedded cohort: its split sizes need the cohort spec")
    else:
        sites = list(cohort.site_sizes().values())
    return split_sizes(sites, splits["fractions"])


def planned_train_count(spec: DatasetSpec, splits: dict[str, Any], cohort: CohortSpec | None = None) -> int:
    """The size of ``spec``'s training split before it exists (:func:`planned_split_sizes`)."""
    return planned_split_sizes(spec, splits, cohort)["train"]
