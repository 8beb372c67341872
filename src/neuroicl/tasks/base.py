"""What a task is, and the registry that makes a new task one small class.

A task turns *source* items (the input modalities of a slice, its label map and brain mask, and
for transfer a separate target modality) into an input ``x`` and a target output ``y``, both
``[N, 3, H, W]`` (supplement, Sec. G). Its randomness comes in three explicit steps:

* :meth:`Task.choose` — discrete choices per episode, from a ``numpy.random.Generator`` while the
  episode is planned (e.g. which anatomical classes a segmentation target joins);
* :meth:`Task.sample` — continuous parameters per episode, from a ``torch.Generator``, shared by
  the target and all context items (e.g. the noise level of a denoising task);
* :meth:`Task.sample_items` — per-item realisations (e.g. the noise field itself);

and :meth:`Task.apply` is pure. The choices reach the device with the batch's one upload
(:meth:`Task.choice_arrays` on the host, :meth:`Task.choice_params` on the device); no method may
read a device value on the host. Output kinds: ``mask`` (a binary mask replicated over the three
channels), ``image`` (one image replicated over the three channels) and ``aligned`` (output
channel c is the clean version of input channel c; ``active`` marks the scored channels).
"""

from __future__ import annotations

import dataclasses
from abc import ABC
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from neuroicl.plan.families import family_of

#: Tensors of a set of items (see :class:`Task`): ``images [N, 3, H, W]`` input modalities,
#: ``channels [N, 3]`` bool used channels, ``target [N, H, W]`` separate target modality (zeros if
#: none), ``labels [N, H, W]`` long, ``brain [N, H, W]`` bool, ``head [N]`` bool (images show a head).
Items = dict[str, Tensor]
Params = dict[str, Tensor]

OUTPUTS = ("mask", "image", "aligned")
#: Number of label ids a label map may hold (uint8): the size of per-class lookup tables.
N_LABELS = 256


@dataclasses.dataclass(frozen=True)
class NoSettings:
    """A task without settings."""


class Task(ABC):
    """Base class of every task; subclasses set the class attributes and override what they need.

    Attributes:
        name: key in config (``tasks.weights``, ``tasks.settings``) and in every results table.
        family: objective and metric family, set by :func:`register` from
            :data:`neuroicl.plan.families.TASK_FAMILY` (its one owner).
        output: ``mask``, ``image`` or ``aligned`` (module docstring).
        needs_labels: the dataset must have label maps.
        min_modalities: modalities a slice needs (2 for transfer: one in, one out).
        max_inputs: most input modalities (3 channels; 2 where a channel carries a mask).
        separate_target: the output is another modality of the same slice.
        shared_modalities: context items use the target's modalities (supplement G: segmentation
            and modality transfer); otherwise each item draws its own.
        brain_only: inputs are skull-stripped (all tasks except skull stripping).
        Settings: dataclass of the task's settings in ``tasks.settings.<name>``.
    """

    name: ClassVar[str]
    family: ClassVar[str]
    output: ClassVar[str]
    needs_labels: ClassVar[bool] = False
    min_modalities: ClassVar[int] = 1
    max_inputs: ClassVar[int] = 3
    separate_target: ClassVar[bool] = False
    shared_modalities: ClassVar[bool] = False
    brain_only: ClassVar[bool] = True
    Settings: ClassVar[type] = NoSettings

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self.settings = build_settings(self.Settings, settings or {}, f"tasks.settings.{self.name}")

    def choose(self, rng: np.random.Generator, classes: list[int]) -> tuple[int, ...]:
        """Discrete per-episode choice (default none); ``classes`` are the dataset's label ids."""
        return ()

    def choice_arrays(self, choices: list[tuple[int, ...]]) -> dict[str, np.ndarray]:
        """Integer host arrays that encode the episodes' :meth:`choose` results (uploaded with the batch plan)."""
        return {}

    def choice_params(self, arrays: dict[str, Tensor], n: int, device: torch.device) -> Params:
        """Tensors ``[n, ...]`` for :meth:`apply` from the uploaded :meth:`choice_arrays` (device work only)."""
        return {}

    def sample(self, n: int, generator: torch.Generator) -> Params:
        """Per-episode parameters, each ``[n, ...]`` on ``generator.device`` (default none)."""
        return {}

    def sample_items(self, params: Params, items: Items, generator: torch.Generator) -> Params:
        """Per-item realisations for ``items`` given the per-item ``params`` (default none)."""
        return {}

    def apply(self, items: Items, params: Params) -> tuple[Tensor, Tensor, Tensor]:
        """Return ``x [N, 3, H, W]``, ``y [N, 3, H, W]`` and the scored output channels ``[N, 3]``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.settings})"


def build_settings(cls: type, values: dict[str, Any], key: str) -> Any:
    """``cls(**values)`` with an error that names the config key of an unknown or bad field."""
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ValueError(f"{key}: unknown keys {unknown}; valid keys: {sorted(fields)}")
    converted = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    try:
        return cls(**converted)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{key}: {error}") from error


def check_range(name: str, values: tuple[float, float], low: float = 0.0, high: float = float("inf")) -> None:
    """Raise ValueError unless ``low <= values[0] <= values[1] <= high``."""
    if len(values) != 2 or not low <= values[0] <= values[1] <= high:
        raise ValueError(f"{name} must be [min, max] with {low} <= min <= max <= {high}, got {list(values)}")


def uniform(n: int, bounds: tuple[float, float], generator: torch.Generator) -> Tensor:
    """``[n]`` draws uniform in ``bounds`` on ``generator.device``."""
    u = torch.rand(n, generator=generator, device=generator.device)
    return bounds[0] + (bounds[1] - bounds[0]) * u


def chance(n: int, probability: float, generator: torch.Generator) -> Tensor:
    """``[n]`` bool draws, each True with ``probability``, on ``generator.device``."""
    return uniform(n, (0.0, 1.0), generator) < probability


def replicate(image: Tensor) -> Tensor:
    """``[N, H, W] -> [N, 3, H, W]`` (float)."""
    return image[:, None].float().expand(-1, 3, -1, -1).contiguous()


def all_channels(items: Items) -> Tensor:
    """All three output channels scored, ``[N, 3]``."""
    return torch.ones_like(items["channels"])


TASKS: dict[str, type[Task]] = {}


def register(cls: type[Task]) -> type[Task]:
    """Class decorator adding a task to :data:`TASKS` under its ``name``, with its family
    (:func:`neuroicl.plan.families.family_of`: a task missing there is an error)."""
    cls.family = family_of(cls.name)
    if cls.output not in OUTPUTS:
        raise ValueError(f"task {cls.name!r}: output must be one of {OUTPUTS}, got {cls.output!r}")
    if cls.name in TASKS:
        raise ValueError(f"task {cls.name!r} is registered twice")
    TASKS[cls.name] = cls
    return cls
