"""The ten tasks: eight evaluated (Table 4 columns) and two for training only (Table 7).

Each is one small class; see :mod:`neuroicl.tasks.base` for the contract. Settings are the
``tasks.settings.<name>`` config entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from neuroicl.tasks.base import (
    N_LABELS,
    TASKS,
    Items,
    Params,
    Task,
    all_channels,
    chance,
    check_range,
    register,
    replicate,
    uniform,
)
from neuroicl.tasks.ops import kspace, noise, perlin, resample
from neuroicl.tasks.ops.intensity import sample_synthetic_modality, synthetic_image

#: Labels 1..26 of :mod:`neuroicl.data.labels` come in left/right pairs.
LATERAL_MAX = 26


def twin(label: int) -> int:
    """The other hemisphere's id of a lateralised class of the cohort's scheme (left 2j-1, right 2j up to 26)."""
    if label > LATERAL_MAX:
        return label
    return label + 1 if label % 2 else label - 1


def _selected(items: Items, classes: Tensor) -> Tensor:
    """``[N, H, W]`` bool: pixels whose label is one of the item's classes (``classes [N, 256]`` bool)."""
    flat = items["labels"].long().flatten(1)
    return classes.gather(1, flat).reshape(items["labels"].shape)


@dataclass(frozen=True)
class ClassSettings:
    """Which classes a label-based target joins.

    Attributes:
        max_classes: a target joins 1..max_classes classes (uniform).
        bilateral_probability: chance that each chosen class comes with its other-hemisphere twin.
        exclude: label ids a target never joins (the evaluation classes, held out from training).
    """

    max_classes: int = 3
    bilateral_probability: float = 0.5
    exclude: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.max_classes < 1:
            raise ValueError(f"max_classes must be >= 1, got {self.max_classes}")
        check_range("bilateral_probability", (0.0, self.bilateral_probability), 0.0, 1.0)


class _ClassTask(Task):
    """A task whose target is built from a random subset of the dataset's anatomical classes."""

    needs_labels = True
    Settings = ClassSettings

    def choose(self, rng: np.random.Generator, classes: list[int]) -> tuple[int, ...]:
        classes = [c for c in classes if c not in self.settings.exclude]
        if not classes:
            raise ValueError(f"{self.name}: every class of the dataset is excluded {self.settings.exclude}; "
                             f"nothing is left to pose the task (training.class_holdout)")
        k = int(rng.integers(1, self.settings.max_classes + 1))
        chosen = set(rng.choice(classes, size=min(k, len(classes)), replace=False).tolist())
        if rng.random() < self.settings.bilateral_probability:
            chosen |= {twin(c) for c in chosen} & set(classes)
        return tuple(sorted(chosen))

    def choice_arrays(self, choices: list[tuple[int, ...]]) -> dict[str, np.ndarray]:
        """(episode, class) pairs of the chosen classes."""
        pairs = [(i, c) for i, chosen in enumerate(choices) for c in chosen]
        return {"episode": np.array([i for i, _ in pairs], dtype=np.int64),
                "class": np.array([c for _, c in pairs], dtype=np.int64)}

    def choice_params(self, arrays: dict[str, Tensor], n: int, device: torch.device) -> Params:
        """``classes [n, N_LABELS]`` bool: True where the episode's target joins the class."""
        classes = torch.zeros(n, N_LABELS, dtype=torch.bool, device=device)
        flags = torch.ones_like(arrays["episode"], dtype=torch.bool)
        return {"classes": classes.index_put((arrays["episode"], arrays["class"]), flags)}


@register
class Segmentation(_ClassTask):
    """Binary segmentation of a random union of classes (supplement G)."""

    name, output = "segmentation", "mask"
    shared_modalities = True

    def apply(self, items: Items, params: Params) -> tuple[Tensor, Tensor, Tensor]:
        return items["images"], replicate(_selected(items, params["classes"])), all_channels(items)


@register
class Masking(_ClassTask):
    """Training only (Table 7): keep the intensities inside a random union of classes, zero elsewhere.

    The supplement names the task without describing it; this is our reading of it.
    """

    name, output = "masking", "aligned"

    def apply(self, items: Items, params: Params) -> tuple[Tensor, Tensor, Tensor]:
        keep = _selected(items, params["classes"])[:, None]
        return items["images"], items["images"] * keep, items["channels"]


@register
class ModalityTransfer(Task):
    """Predict a separate real modality of the same slice from 1–3 others (supplement G)."""

    name, output = "modality_transfer", "image"
    min_modalities, separate_target, shared_modalities = 2, True, True

    def apply(self, items: Items, params: Params) -> tuple[Tensor, Tensor, Tensor]:
        return items["images"], replicate(items["target"]), all_channels(items)


@dataclass(frozen=True)
class SyntheticSettings:
    """``std``: range of the per-class intensity standard deviation of the synthetic modality."""

    std: tuple[float, float] = (0.0, 0.1)

    def __post_init__(self) -> None:
        check_range("std", self.std, 0.0, 1.0)


@register
class SyntheticTransfer(Task):
    """Training only (Table 7): predict a synthetic modality drawn from the label map (SyntheticModality)."""

    name, output = "synthetic_transfer", "image"
    needs_labels = True
    Settings = SyntheticSettings

    def sample(self, n: int, generator: torch.Generator) -> Params:
        mean, std, _ = sample_synthetic_modality(n, N_LABELS, self.settings.std, generator)
        return {"mean": mean, "std": std}

    def sample_items(self, params: Params, items: Items, generator: torch.Generator) -> Params:
        shape = items["labels"].shape
        return {"noise": torch.randn(shape, generator=generator, device=generator.device)}

    def apply(self, items: Items, params: Params) -> tuple[Tensor, Tensor, Tensor]:
        brain = items["brain"] & (items["labels"] > 0)
        y = synthetic_image(items["labels"], brain, params["mean"], params["std"], params["noise"])
        return items["images"], replicate(y), all_channels(items)


@register
class SkullStripping(Task):
    """Head image in, brain mask out (supplement G)."""

    name, output = "skull_stripping", "mask"
    brain_only = False

    def apply(self, items: Items, params: Params) -> tuple[Tensor, Tensor, Tensor]:
        return items["images"], replicate(items["brain"]), all_channels(items)


@dataclass(frozen=True)
class ResolutionSettings:
    """``factor``: range of the downsampling factor; ``one_axis_probability``: chance it acts on one axis only."""

    factor: tuple[float, float] = (1.5, 4.0)
    one_axis_probability: float = 0.5

    def __post_init__(self) -> None:
        check_range("factor", self.factor, 1.0)
        check_range("one_axis_probability", (0.0, self.one_axis_probability), 0.0, 1.0)


@register
class SuperResolution(Task):
    """Downsample by a random factor and interpolate back to the grid; predict the original."""

    name, output = "super_resolution", "aligned"
    Settings = ResolutionSettings

    def sample(self, n: int, generator: torch.Generator) -> Params:
        factor = uniform(n, self.settings.factor, generator)
        one_axis = chance(n, self.settings.one_axis_probability, generator)
        axis_h = chance(n, 0.5, generator)
        ones = torch.ones_like(factor)
        factor_h = torch.where(one_axis & ~axis_h, ones, factor)
        factor_w = torch.where(one_axis & axis_h, ones, factor)
        return {"factor_h": factor_h, "factor_w": factor_w}

    def apply(self, items: Items, params: Params) -> tuple[Tensor, Tensor, Tensor]:
        images = items["images"]
        x = resample.degrade_resolution(images, params["factor_h"], params["factor_w"])
        return x * (images.amax(dim=(2, 3), keepdim=True) > 0), images, items["channels"]


@dataclass(frozen=True)
class MotionSettings:
    """TorchIO-style motion: ranges of the largest rotation (degrees) and shift (pixels), number of moves."""

    degrees: tuple[float, float] = (2.0, 8.0)
    translation_px: tuple[float, float] = (1.0, 4.0)
    transforms: int = 2

    def __post_init__(self) -> None:
        check_range("degrees", self.degrees)
        check_range("translation_px", self.translation_px)
        if self.transforms < 1:
            raise ValueError(f"transforms must be >= 1, got {self.transforms}")


@register
class MotionReconstruction(Task):
    """Remove k-space motion artefacts (TorchIO's motion model, 2-D)."""

    name, output = "motion", "aligned"
    Settings = MotionSettings

    def sample(self, n: int, generator: torch.Generator) -> Params:
        return {
            "degrees": uniform(n, self.settings.degrees, generator),
            "translation": uniform(n, self.settings.translation_px, generator),
        }

    def sample_items(self, params: Params, items: Items, generator: torch.Generator) -> Params:
        n = len(params["degrees"])
        motion = kspace.sample_motion(n, params["degrees"], params["translation"], self.settings.transforms, generator)
        return {"angles": motion.angles, "shifts": motion.shifts, "times": motion.times}

    def apply(self, items: Items, params: Params) -> tuple[Tensor, Tensor, Tensor]:
        motion = kspace.MotionParams(params["angles"], params["shifts"], params["times"])
        images = items["images"]
        return kspace.apply_motion(images, motion), images, items["channels"]


@dataclass(frozen=True)
class UndersamplingSettings:
    """fastMRI-style masks: pairs of acceleration and fully sampled centre fraction; chance of equispaced."""

    accelerations: tuple[float, ...] = (4.0, 8.0)
    center_fractions: tuple[float, ...] = (0.08, 0.04)
    equispaced_probability: float = 0.5

    def __post_init__(self) -> None:
        if not self.accelerations or len(self.accelerations) != len(self.center_fractions):
            raise ValueError(
                f"accelerations {list(self.accelerations)} and center_fractions {list(self.center_fractions)} "
                "must be non-empty lists of the same length (one centre fraction per acceleration)"
            )
        if min(self.accelerations) < 1 or not all(0 < f < 1 for f in self.center_fractions):
            raise ValueError("accelerations must be >= 1 and center_fractions in (0, 1)")
        check_range("equispaced_probability", (0.0, self.equispaced_probability), 0.0, 1.0)


@register
class UndersamplingReconstruction(Task):
    """Reconstruct from k-space with columns left out (random or equispaced, fully sampled centre)."""

    name, output = "undersampling", "aligned"
    Settings = UndersamplingSettings

    def sample(self, n: int, generator: torch.Generator) -> Params:
        choice = torch.randint(len(self.settings.accelerations), (n,), generator=generator, device=generator.device)
        acceleration, center = torch.zeros(n, device=generator.device), torch.zeros(n, device=generator.device)
        for i, (a, c) in enumerate(zip(self.settings.accelerations, self.settings.center_fractions, strict=True)):
            acceleration, center = acceleration.masked_fill(choice == i, a), center.masked_fill(choice == i, c)
        equispaced = chance(n, self.settings.equispaced_probability, generator)
        return {"acceleration": acceleration, "center_fraction": center, "equispaced": equispaced}

    def sample_items(self, params: Params, items: Items, generator: torch.Generator) -> Params:
        n, width = len(params["acceleration"]), items["images"].shape[-1]
        mask = kspace.sample_undersampling_mask(
            n, width, params["acceleration"], params["center_fraction"], params["equispaced"], generator
        )
        return {"mask": mask}

    def apply(self, items: Items, params: Params) -> tuple[Tensor, Tensor, Tensor]:
        images = items["images"]
        return kspace.apply_undersampling(images, params["mask"]), images, items["channels"]


@dataclass(frozen=True)
class DenoisingSettings:
    """Noise level range, chance of Rician (else Gaussian) noise, bias-field strength range and order."""

    sigma: tuple[float, float] = (0.02, 0.1)
    rician_probability: float = 0.5
    bias_magnitude: tuple[float, float] = (0.0, 0.5)
    bias_order: int = 3

    def __post_init__(self) -> None:
        check_range("sigma", self.sigma)
        check_range("rician_probability", (0.0, self.rician_probability), 0.0, 1.0)
        check_range("bias_magnitude", self.bias_magnitude)
        if self.bias_order < 0:
            raise ValueError(f"bias_order must be >= 0, got {self.bias_order}")


@register
class Denoising(Task):
    """Remove Gaussian/Rician noise and a smooth multiplicative bias field (TorchIO's polynomial model)."""

    name, output = "denoising", "aligned"
    Settings = DenoisingSettings

    def sample(self, n: int, generator: torch.Generator) -> Params:
        return {
            "sigma": uniform(n, self.settings.sigma, generator),
            "rician": chance(n, self.settings.rician_probability, generator),
            "bias": uniform(n, self.settings.bias_magnitude, generator),
        }

    def sample_items(self, params: Params, items: Items, generator: torch.Generator) -> Params:
        n = len(params["sigma"])
        real, imaginary = noise.sample_noise_fields(tuple(items["images"].shape), generator)
        coefficients = noise.sample_bias_coefficients(n, self.settings.bias_order, params["bias"], generator)
        return {"real": real, "imaginary": imaginary, "coefficients": coefficients}

    def apply(self, items: Items, params: Params) -> tuple[Tensor, Tensor, Tensor]:
        images = items["images"]
        field = noise.bias_field(params["coefficients"], self.settings.bias_order, tuple(images.shape[-2:]))
        biased = noise.apply_bias_field(images, field)
        x = noise.apply_noise(biased, params["sigma"], (params["real"], params["imaginary"]), params["rician"])
        return x, images, items["channels"]


@dataclass(frozen=True)
class InpaintingSettings:
    """Perlin-noise holes: covered fraction range, lattice cells across the image, octaves."""

    coverage: tuple[float, float] = (0.05, 0.3)
    cells: tuple[int, int] = (2, 8)
    octaves: int = 2

    def __post_init__(self) -> None:
        check_range("coverage", self.coverage, 0.0, 1.0)
        check_range("cells", self.cells, 1)
        if self.octaves < 1:
            raise ValueError(f"octaves must be >= 1, got {self.octaves}")


@register
class Inpainting(Task):
    """Fill holes cut by a Perlin-noise mask; the mask is an extra input channel (supplement G)."""

    name, output = "inpainting", "aligned"
    max_inputs = 2
    Settings = InpaintingSettings

    def sample(self, n: int, generator: torch.Generator) -> Params:
        return {"coverage": uniform(n, self.settings.coverage, generator)}

    def sample_items(self, params: Params, items: Items, generator: torch.Generator) -> Params:
        n, size = len(params["coverage"]), tuple(items["images"].shape[-2:])
        low, high = self.settings.cells
        cells = torch.randint(low, high + 1, (n,), generator=generator, device=generator.device)
        return {"noise": perlin.sample_perlin(n, size, cells, self.settings.octaves, generator, max_cells=high)}

    def apply(self, items: Items, params: Params) -> tuple[Tensor, Tensor, Tensor]:
        images, channels = items["images"], items["channels"]
        hole = perlin.perlin_mask(params["noise"], params["coverage"])[:, None].float()
        slot = channels.sum(1)  # the first unused channel carries the mask
        mask_channel = (torch.arange(3, device=images.device)[None] == slot[:, None])[:, :, None, None]
        x = torch.where(mask_channel, hole.expand_as(images), images * (1 - hole))
        return x, images, channels


def build_tasks(settings: dict[str, dict[str, Any]] | None = None, names: list[str] | None = None) -> dict[str, Task]:
    """Instantiate tasks by name (default every task of this catalogue) with their ``tasks.settings`` entries."""
    settings = settings or {}
    names = list(TASKS) if names is None else names
    unknown = sorted((set(names) | set(settings)) - set(TASKS))
    if unknown:
        raise ValueError(f"unknown tasks {unknown}; valid: {sorted(TASKS)}")
    return {name: TASKS[name](settings.get(name)) for name in names}
