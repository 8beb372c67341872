"""Adapters from each real dataset's own layout to the common raw layout (:mod:`neuroicl.plan.layout`).

Entry point: :func:`adapt`. One module per kind: :mod:`.ixi`, :mod:`.oasis`, :mod:`.msd`; the shared
writer is :mod:`.common`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from neuroicl.datasets.adapters import ixi, msd, oasis
from neuroicl.datasets.adapters.common import AdapterResult, Candidate, build
from neuroicl.datasets.errors import AdapterError
from neuroicl.datasets.registry import Archive, load_registry
from neuroicl.plan.layout import KINDS

ADAPTERS: dict[str, tuple[str, Callable[[dict[str, Path]], Iterator[Candidate]]]] = {
    "ixi": (ixi.NAME, ixi.candidates),
    "oasis1": (oasis.NAME, oasis.candidates),
    "msd_brain_tumour": (msd.NAME, msd.candidates),
}


def adapt(
    kind: str,
    sources: dict[str, str | os.PathLike],
    out_root: str | os.PathLike,
    n_subjects: int,
    *,
    registry_path: str | os.PathLike | None = None,
) -> AdapterResult:
    """Bring a fetched dataset of ``kind`` to the common layout under ``out_root``.

    Writes ``participants.tsv`` (participant_id, site, age, sex, source_id; ``n/a`` where unknown),
    ``dataset_description.json``, ``adapter_report.tsv`` (source_id, status kept/skipped, reason)
    and, for the first ``n_subjects`` valid subjects in source-id order numbered ``sub-0001``…, the
    files of :func:`neuroicl.plan.layout.subject_paths`. Everything is written to a hidden
    sibling folder first and replaces ``out_root`` at the end; on any error nothing is written.

    Args:
        kind: a key of :data:`neuroicl.plan.layout.KINDS` (``ixi``, ``oasis1``, ``msd_brain_tumour``).
        sources: registry entry → the path :func:`neuroicl.datasets.download.fetch` returned for it;
            exactly the entries of ``KINDS[kind].archives``.
        out_root: the dataset folder (``resources/<dataset>``); owned by the adapter and replaced whole —
            unless it holds files outside the layout, which is an error (nothing is deleted).
        n_subjects: how many valid subjects to keep.
        registry_path: the registry; if given, its licences, citations and URLs go into
            ``dataset_description.json``.

    Returns:
        :class:`~neuroicl.datasets.adapters.common.AdapterResult` (kept and skipped subjects).

    Raises:
        AdapterError: unknown kind, wrong or missing sources, a dataset-level problem (e.g. an
            unknown label name), or fewer than ``n_subjects`` valid subjects.

    Example:
        >>> adapt("ixi", {"ixi_t1": "resources/downloads/ixi_t1", "ixi_t2": "resources/downloads/ixi_t2",
        ...               "ixi_pd": "resources/downloads/ixi_pd", "ixi_demographics": "resources/downloads/IXI.xls"},
        ...       "resources/ixi", 20, registry_path="resources/datasets/registry.yaml")
    """
    if kind not in KINDS:
        raise AdapterError(f"unknown dataset kind {kind!r}; known kinds: {sorted(KINDS)}")
    paths = {name: Path(path) for name, path in sources.items()}
    expected = set(KINDS[kind].archives)
    if set(paths) != expected:
        raise AdapterError(
            f"{kind}: sources must be exactly {sorted(expected)} (registry entry → fetched path); "
            f"missing {sorted(expected - set(paths))}, unexpected {sorted(set(paths) - expected)}"
        )
    for name, path in paths.items():
        if not path.exists():
            raise AdapterError(
                f"{kind}: source {name} = {path} does not exist; fetch the registry entry {name!r} first"
            )
    name, candidates = ADAPTERS[kind]
    return build(kind, candidates(paths), out_root, n_subjects, _description(kind, name, registry_path))


def _description(kind: str, name: str, registry_path: str | os.PathLike | None) -> dict:
    archives = KINDS[kind].archives
    description = {
        "Name": name,
        "BIDSVersion": "1.9.0",
        "DatasetType": "raw",
        "GeneratedBy": [
            {
                "Name": "neuroicl",
                "Description": f"neuroicl.datasets.adapters ({kind}) from registry entries {', '.join(archives)}",
            }
        ],
    }
    if registry_path is not None:
        registry = load_registry(registry_path)
        entries = [registry[archive] for archive in archives if isinstance(registry.get(archive), Archive)]
        description["License"] = "; ".join(dict.fromkeys(entry.licence for entry in entries))
        description["HowToAcknowledge"] = "\n".join(dict.fromkeys(entry.citation.strip() for entry in entries))
        description["ReferencesAndLinks"] = list(dict.fromkeys(entry.homepage for entry in entries))
        description["SourceDatasets"] = [{"URL": entry.url} for entry in entries]
    return description
