"""Evaluation cases: what exactly a test target asks for, fixed so every model gets the same question.

A :class:`Case` pins the task's discrete choices that training draws at random: the input
modality (one, as the paper's per-modality scores), the segmentation class (the four evaluation
classes of Table 4, both hemispheres) and the target modality of modality transfer (a fixed map,
``evaluation.transfer``). Task-specific U-Nets train on the same cases, so their task is as
well posed as at test time.

Example:
    >>> settings = EvalSettings.from_config(config["evaluation"])
    >>> [c.key for c in cases_for("modality_transfer", ["T1w", "T2w"], settings)]
    ['T1w>T2w', 'T2w>T1w']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EvalSettings:
    """The ``evaluation`` config block.

    Attributes:
        context_sizes: context sizes L scored (nested: the first L items of one draw of the largest).
        repeats: context draws (and target slices) per subject and case.
        labels: segmentation class name -> label ids joined into the target mask.
        transfer: input modality -> target modality of modality transfer.
        batch_size: targets per forward pass.
        samples: qualitative samples saved per task (Figs. 6-8).
        context_pairs: context pairs in a saved sample (its context size).
        min_label_pixels: a segmentation target slice shows at least this many pixels of its class.
    """

    context_sizes: tuple[int, ...]
    repeats: int
    labels: dict[str, tuple[int, ...]]
    transfer: dict[str, str]
    batch_size: int = 16
    samples: int = 2
    context_pairs: int = 8
    min_label_pixels: int = 10

    def __post_init__(self) -> None:
        if (
            not self.context_sizes
            or min(self.context_sizes) < 1
            or list(self.context_sizes) != sorted(set(self.context_sizes))
        ):
            raise ValueError(f"evaluation.context_sizes must be increasing integers >= 1, got {self.context_sizes}")
        for key in ("repeats", "batch_size", "min_label_pixels"):
            if getattr(self, key) < 1:
                raise ValueError(f"evaluation.{key} must be >= 1, got {getattr(self, key)}")
        if not self.labels:
            raise ValueError("evaluation.labels must name at least one segmentation class")

    @classmethod
    def from_config(cls, block: dict[str, Any]) -> EvalSettings:
        samples = block.get("samples", {})
        return cls(
            context_sizes=tuple(int(n) for n in block["context_sizes"]),
            repeats=int(block["repeats"]),
            labels={name: tuple(int(i) for i in ids) for name, ids in block["labels"].items()},
            transfer=dict(block["transfer"]),
            batch_size=int(block.get("batch_size", 16)),
            samples=int(samples.get("per_task", 2)),
            context_pairs=int(samples.get("context_pairs", 8)),
            min_label_pixels=int(block.get("min_label_pixels", 10)),
        )

    @property
    def max_context(self) -> int:
        return max(self.context_sizes)


@dataclass(frozen=True)
class Case:
    """One question a test target asks.

    Attributes:
        task: task name.
        modality: the input modality.
        target_modality: the output modality of modality transfer, else None.
        label: segmentation class name ("" for other tasks).
        choice: the label ids of ``label`` (the task's choice), else ().
    """

    task: str
    modality: str
    target_modality: str | None = None
    label: str = ""
    choice: tuple[int, ...] = ()

    @property
    def key(self) -> str:
        """A stable id within the task (part of the evaluation seed)."""
        if self.label:
            return f"{self.label}:{self.modality}"
        return f"{self.modality}>{self.target_modality}" if self.target_modality else self.modality

    @property
    def modalities(self) -> tuple[list[str], str | None]:
        """The ``modalities`` argument of :meth:`EpisodeSampler.episode`."""
        return [self.modality], self.target_modality


def cases_for(task: str, modalities: list[str], settings: EvalSettings) -> list[Case]:
    """Every case of ``task`` on a dataset with ``modalities``, in a fixed order.

    Raises:
        ValueError: if modality transfer has no (input, target) pair among ``modalities``.
    """
    if task == "segmentation":
        return [Case(task, m, label=name, choice=ids) for name, ids in settings.labels.items() for m in modalities]
    if task == "modality_transfer":
        cases = [Case(task, m, settings.transfer[m]) for m in modalities if settings.transfer.get(m) in modalities]
        if not cases:
            raise ValueError(
                f"evaluation.transfer {settings.transfer} maps none of the modalities {modalities} to another of them"
            )
        return cases
    return [Case(task, m) for m in modalities]
