"""The whole experiment a config describes, known before any data exists: what the workflow builds its DAG from.

:class:`Plan` lists the datasets, their subjects and files, the registry archives to fetch, the
runs of the comparison and the config parts each run reads. It imports only the standard library,
PyYAML and jsonschema (via the modules of :mod:`neuroicl.plan`), so building the DAG, a dry run or a
cluster job's re-parse never loads torch, scipy or nibabel (``tests/plan/test_experiment.py``).

Example:
    >>> plan = Plan.from_config(config)  # a schema-validated config
    >>> list(plan.datasets), plan.runs[0].name, plan.subjects["embedded"][:2]
    (['embedded'], 'neuralizer-seen', ['sub-001', 'sub-002'])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuroicl.plan.cohort import CohortSpec
from neuroicl.plan.datasets import DatasetSpec, datasets_from_config, planned_train_count
from neuroicl.plan.mvg_study import MVGStudy
from neuroicl.plan.runs import Run, by_name, catalogue
from neuroicl.plan.study import MetaSegStudy
from neuroicl.plan.summary import config_summary

#: Models whose training jobs are the longest of a config (:attr:`Plan.long_runs`).
LONG_MODELS = ("neuralizer", "metaseg")


@dataclass(frozen=True)
class Plan:
    """The datasets and runs of a (schema-validated) config.

    Attributes:
        config: the config.
        cohort: the embedded cohort's spec (the ``cohort`` block).
        datasets: every dataset of ``datasets:`` by name, in config order.
        runs: every run of the comparison, in catalogue order.
        n_train: training subjects pooled over the datasets (planned: :func:`planned_train_count`);
            the U-Net subject counts ``k`` are capped by it.
        study: MetaSeg's own study (``training.runs.metaseg.study``), or None; its ablation runs are trained
            like the others but are not rows of the comparison (not in ``runs``).
        mvg_study: MVG's own outputs (with the run ``mvg``), or None; the runs of its ablation
            (``training.runs.mvg.ablation``) are trained and evaluated like the others but are not in ``runs``.
    """

    config: dict[str, Any]
    cohort: CohortSpec
    datasets: dict[str, DatasetSpec]
    runs: list[Run]
    n_train: int
    study: MetaSegStudy | None = None
    mvg_study: MVGStudy | None = None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Plan:
        cohort = CohortSpec.from_config(config["cohort"])
        datasets = {spec.name: spec for spec in datasets_from_config(config, cohort)}
        n_train = sum(planned_train_count(spec, config["splits"], cohort) for spec in datasets.values())
        runs = catalogue(config, n_train)
        return cls(config, cohort, datasets, runs, n_train, MetaSegStudy.of(config, runs), MVGStudy.of(config, runs))

    @property
    def embedded(self) -> list[str]:
        """Names of the embedded datasets (at most one)."""
        return [name for name, spec in self.datasets.items() if not spec.real]

    @property
    def real(self) -> list[str]:
        """Names of the real (downloaded) datasets."""
        return [name for name, spec in self.datasets.items() if spec.real]

    @property
    def subjects(self) -> dict[str, list[str]]:
        """Participant ids per dataset."""
        return {name: spec.subject_ids() for name, spec in self.datasets.items()}

    @property
    def archives(self) -> list[str]:
        """Registry entries to fetch, sorted: those the real datasets' adapters read and the released weights
        runs are converted from (:attr:`Run.weights_from`)."""
        released = {run.weights_from for run in self.every_run if run.weights_from}
        return sorted({entry for name in self.real for entry in self.datasets[name].archives} | released)

    @property
    def every_run(self) -> list[Run]:
        """The comparison's runs and then the studies' (every run a ``train`` or ``evaluate`` job can name)."""
        return [*self.runs, *(self.study.ablation_runs if self.study else ()),
                *(self.mvg_study.ablation_runs if self.mvg_study else ())]

    @property
    def trained(self) -> list[str]:
        """Names of the runs that are trained (have a model file), the study's included."""
        return [run.name for run in self.every_run if run.trained]

    @property
    def released(self) -> list[str]:
        """Names of the runs whose model file is converted from released weights instead of trained."""
        return [run.name for run in self.every_run if run.weights_from]

    @property
    def long_runs(self) -> list[str]:
        """Trained runs whose jobs start before the other training jobs (Snakemake priority), longest first in
        spirit: Neuralizer's and MetaSeg's, and a per-class network set on all subjects. Started last, one of them
        leaves a core idle while it finishes alone (the demo's tail, docs/performance.md)."""
        return [run.name for run in self.every_run
                if run.trained and (run.model in LONG_MODELS or (run.per_label and run.subjects is None))]

    def run(self, name: str) -> Run:
        """The run called ``name``, the study's included (the error lists the valid names)."""
        return by_name(self.every_run, name)

    def subject_paths(self, dataset: str, subject: str, root: str = "resources") -> dict[str, str]:
        """Every raw file of one subject of ``dataset`` under ``root/<dataset>/``."""
        return self.datasets[dataset].subject_paths(f"{root}/{dataset}", subject, self.cohort)

    def run_config(self, name: str) -> dict[str, Any]:
        """The config parts run ``name``'s training and evaluation read: a change elsewhere reruns neither.

        Keys: ``tasks``, ``training`` (without the catalogue's ``runs``), ``evaluation``,
        ``models.hyperparameters.<its model>`` (with the run's own ``hparams`` over them), ``preprocess`` and
        ``reference`` (what its slices were made with, which its model file keeps for ``neuroicl predict``; a
        change there changes the slice store, and so reruns the run anyway).
        """
        run = self.run(name)
        training = {key: value for key, value in self.config["training"].items() if key != "runs"}
        hparams = {**self.config["models"]["hyperparameters"].get(run.model, {}), **run.hparams}
        return {
            "tasks": self.config["tasks"],
            "training": training,
            "evaluation": self.config["evaluation"],
            "models": {"hyperparameters": {run.model: hparams}},
            "preprocess": self.config["preprocess"],
            "reference": self.config["reference"],
        }

    def summary(self, throughput: str | Path) -> str:
        """The dry run's estimate of GPU-hours (:func:`neuroicl.plan.summary.config_summary`), the study's runs
        included (each priced as a training job and an evaluation, which its study jobs stand in for)."""
        return config_summary(self.config, list(self.datasets.values()), self.every_run, self.cohort, throughput)
