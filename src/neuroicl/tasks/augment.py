"""Task and data augmentations and their composition tree (supplement C.1, C.2, Fig. 10).

The tree lives in config (``tasks.augmentations.tree``): one node per group, applied in the order
Mask → Intensity → Channel → Spatial. A node is ``{op, p, children}``: ``compose`` applies its
children left to right, ``one_of`` picks one child uniformly, any other ``op`` is a leaf
augmentation; each node is applied with probability ``p``. Per episode the tree is walked once
(:func:`sample_plan`) and the resulting augmentations, with parameters drawn once per episode,
are applied identically to the target and every context item.

Where each group acts (see docs/tasks.md):

* intensity — on the *source* images before the task builds ``x`` and ``y``, so a denoising target
  is the clean version of the augmented image (a separate transfer target is left alone);
* mask — on ``y`` of tasks whose output is a binary mask (acting on disjoint tensors, its order
  relative to the intensity group does not matter);
* channel — on ``x``, and on ``y`` and the scored channels where the output is channel-aligned;
* spatial — on ``x`` and ``y`` (masks are re-binarised at 0.5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from neuroicl.tasks.base import N_LABELS, Items, NoSettings, Params, Task, build_settings, chance, check_range, uniform
from neuroicl.tasks.catalog import SyntheticSettings
from neuroicl.tasks.ops import morphology, spatial
from neuroicl.tasks.ops.intensity import (
    apply_intensity_mapping,
    apply_synthetic_modality,
    sample_intensity_mapping,
    sample_synthetic_modality,
    sobel_filter,
    synthetic_image,
)

GROUPS = ("mask", "intensity", "channel", "spatial")


class Augmentation:
    """A leaf of the tree: per-episode :meth:`sample`, per-item :meth:`sample_items`, pure :meth:`apply`."""

    name: ClassVar[str]
    group: ClassVar[str]
    Settings: ClassVar[type] = NoSettings

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self.settings = build_settings(self.Settings, settings or {}, f"tasks.augmentations.settings.{self.name}")

    def applies(self, task: Task, has_labels: bool) -> bool:
        """Whether the augmentation can act on an episode of ``task``."""
        return True

    def sample(self, n: int, generator: torch.Generator) -> Params:
        return {}

    def sample_items(self, params: Params, state: Items, generator: torch.Generator) -> Params:
        return {}

    def apply(self, state: Items, params: Params) -> Items:
        """Return the updated entries of ``state``."""
        raise NotImplementedError


AUGMENTATIONS: dict[str, type[Augmentation]] = {}


def register(cls: type[Augmentation]) -> type[Augmentation]:
    """Class decorator adding an augmentation to :data:`AUGMENTATIONS`."""
    if cls.group not in GROUPS:
        raise ValueError(f"augmentation {cls.name!r}: group must be one of {GROUPS}")
    AUGMENTATIONS[cls.name] = cls
    return cls


class _MaskAugmentation(Augmentation):
    group = "mask"

    def applies(self, task: Task, has_labels: bool) -> bool:
        return task.output == "mask"


@register
class MaskContour(_MaskAugmentation):
    """The target becomes the mask's contour, 3 pixels wide."""

    name = "mask_contour"

    def apply(self, state: Items, params: Params) -> Items:
        return {"y": morphology.contour(state["y"], width=3)}


@register
class MaskDilation(_MaskAugmentation):
    """The target mask is dilated by 1 pixel."""

    name = "mask_dilation"

    def apply(self, state: Items, params: Params) -> Items:
        return {"y": morphology.dilate(state["y"], 1)}


@register
class MaskInvert(_MaskAugmentation):
    """The target mask is inverted."""

    name = "mask_invert"

    def apply(self, state: Items, params: Params) -> Items:
        return {"y": 1 - state["y"]}


@register
class SobelFilter(Augmentation):
    """Every input channel becomes its Sobel gradient magnitude."""

    name, group = "sobel_filter", "intensity"

    def apply(self, state: Items, params: Params) -> Items:
        return {"images": sobel_filter(state["images"])}


@dataclass(frozen=True)
class MappingSettings:
    """``bins``: range of the number of histogram bins."""

    bins: tuple[int, int] = (4, 16)


@register
class IntensityMapping(Augmentation):
    """Random piecewise-linear remapping of the intensities, one mapping per channel."""

    name, group, Settings = "intensity_mapping", "intensity", MappingSettings

    def sample(self, n: int, generator: torch.Generator) -> Params:
        values, bins = sample_intensity_mapping(n, self.settings.bins, generator)
        return {"values": values, "bins": bins}

    def apply(self, state: Items, params: Params) -> Items:
        return {"images": apply_intensity_mapping(state["images"], params["values"], params["bins"])}


@register
class SyntheticModality(Augmentation):
    """One used input channel is replaced by a synthetic modality drawn from the label map (skull kept)."""

    name, group, Settings = "synthetic_modality", "intensity", SyntheticSettings

    def applies(self, task: Task, has_labels: bool) -> bool:
        return has_labels

    def sample(self, n: int, generator: torch.Generator) -> Params:
        mean, std, channel = sample_synthetic_modality(n, N_LABELS, self.settings.std, generator)
        return {"mean": mean, "std": std, "channel": channel}

    def sample_items(self, params: Params, state: Items, generator: torch.Generator) -> Params:
        return {"noise": torch.randn(state["labels"].shape, generator=generator, device=generator.device)}

    def apply(self, state: Items, params: Params) -> Items:
        brain = state["brain"] & (state["labels"] > 0)
        image = synthetic_image(state["labels"], brain, params["mean"], params["std"], params["noise"])
        used = state["channels"].sum(1).clamp_min(1)
        channel = (params["channel"] * used).long().clamp(max=2)  # one of the used channels (they come first)
        return {"images": apply_synthetic_modality(state["images"], image, brain, channel, state["head"])}


class _ChannelAugmentation(Augmentation):
    group = "channel"

    @staticmethod
    def _take(tensor: Tensor, source: Tensor) -> Tensor:
        """Channel ``source[i, c]`` of item i into channel c, ``[N, 3, ...]`` with ``source [N, 3]`` long."""
        index = source.view(*source.shape, *([1] * (tensor.dim() - 2))).expand_as(tensor)
        return tensor.gather(1, index)

    def _apply_map(self, state: Items, source: Tensor) -> Items:
        aligned = state["aligned"][:, None]
        out = {"x": self._take(state["x"], source)}
        out["y"] = torch.where(aligned[..., None, None], self._take(state["y"], source), state["y"])
        out["active"] = torch.where(aligned, self._take(state["active"], source), state["active"])
        return out


@register
class PermuteChannels(_ChannelAugmentation):
    """The three input channels (and aligned output channels) are permuted."""

    name = "permute_channels"

    def sample(self, n: int, generator: torch.Generator) -> Params:
        return {"order": torch.rand(n, 3, generator=generator, device=generator.device).argsort(dim=1)}

    def apply(self, state: Items, params: Params) -> Items:
        return self._apply_map(state, params["order"])


@dataclass(frozen=True)
class DuplicateSettings:
    """``p``: chance that each empty channel is overwritten by a copy of a non-empty one."""

    p: float = 0.5

    def __post_init__(self) -> None:
        check_range("p", (0.0, self.p), 0.0, 1.0)


@register
class DuplicateChannels(_ChannelAugmentation):
    """Empty input channels are overwritten, each with probability p, by a copy of a non-empty channel."""

    name, Settings = "duplicate_channels", DuplicateSettings

    def sample(self, n: int, generator: torch.Generator) -> Params:
        fill = chance(3 * n, self.settings.p, generator).view(n, 3)
        return {"fill": fill, "pick": uniform(3 * n, (0.0, 1.0), generator).view(n, 3)}

    def apply(self, state: Items, params: Params) -> Items:
        x = state["x"]
        full = x.flatten(2).abs().amax(2) > 0  # [N, 3]
        order = (~full).float().argsort(dim=1, stable=True)  # non-empty channels first
        count = full.sum(1, keepdim=True).clamp_min(1)
        pick = order.gather(1, (params["pick"] * count).long().clamp(max=2))
        source = torch.arange(3, device=x.device).expand_as(pick)
        source = torch.where(params["fill"] & ~full & (full.sum(1, keepdim=True) > 0), pick, source)
        return self._apply_map(state, source)


class _SpatialAugmentation(Augmentation):
    group = "spatial"

    @staticmethod
    def _resample(state: Items, grid: Tensor) -> Items:
        y = spatial.apply_grid(state["y"], grid)
        binary = state["binary"][:, None, None, None]
        return {"x": spatial.apply_grid(state["x"], grid), "y": torch.where(binary, (y > 0.5).float(), y)}


@dataclass(frozen=True)
class AffineSettings:
    """Largest rotation (degrees), relative scaling and translation (fraction of the half-size)."""

    degrees: float = 10.0
    scale: float = 0.1
    translation: float = 0.05


@register
class RandomAffine(_SpatialAugmentation):
    """Random rotation, scaling and translation (TorchIO RandomAffine, 2-D)."""

    name, Settings = "random_affine", AffineSettings

    def sample(self, n: int, generator: torch.Generator) -> Params:
        s = self.settings
        return {"theta": spatial.sample_affine(n, s.degrees, s.scale, s.translation, generator)}

    def apply(self, state: Items, params: Params) -> Items:
        grid = spatial.sampling_grid(params["theta"], None, tuple(state["x"].shape[-2:]))
        return self._resample(state, grid)


@dataclass(frozen=True)
class ElasticSettings:
    """Control points per side and largest displacement (fraction of the half-size)."""

    control_points: int = 5
    max_displacement: float = 0.03


@register
class RandomElastic(_SpatialAugmentation):
    """Random smooth elastic deformation (TorchIO RandomElasticDeformation, 2-D)."""

    name, Settings = "random_elastic", ElasticSettings

    def sample(self, n: int, generator: torch.Generator) -> Params:
        s = self.settings
        return {"displacement": spatial.sample_elastic(n, s.control_points, s.max_displacement, generator)}

    def apply(self, state: Items, params: Params) -> Items:
        n = len(params["displacement"])
        identity = torch.eye(2, 3, device=state["x"].device).expand(n, 2, 3)
        grid = spatial.sampling_grid(identity, params["displacement"], tuple(state["x"].shape[-2:]))
        return self._resample(state, grid)


@register
class RandomFlip(_SpatialAugmentation):
    """Left–right (sagittal-plane) flip along :data:`~neuroicl.tasks.ops.spatial.LEFT_RIGHT_DIM`
    (``synthesize`` refuses it for sagittal slices, which have no left–right axis)."""

    name = "random_flip"

    def apply(self, state: Items, params: Params) -> Items:
        dim = spatial.LEFT_RIGHT_DIM
        flags = torch.ones(len(state["x"]), dtype=torch.bool, device=state["x"].device)
        return {"x": spatial.flip(state["x"], flags, dim), "y": spatial.flip(state["y"], flags, dim)}


# ---- the composition tree -------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """A node of the tree: ``compose``, ``one_of`` or a leaf augmentation, applied with probability ``p``."""

    op: str
    p: float
    children: tuple[Node, ...] = ()

    def leaves(self) -> list[str]:
        return [self.op] if not self.children else [leaf for child in self.children for leaf in child.leaves()]


def parse_node(spec: dict[str, Any], key: str, group: str) -> Node:
    """Build a :class:`Node` from its config mapping; errors name the config ``key``."""
    op, p, children = spec.get("op"), spec.get("p", 1.0), spec.get("children", [])
    check_range(f"{key}.p", (0.0, float(p)), 0.0, 1.0)
    if op in ("compose", "one_of"):
        if not children:
            raise ValueError(f"{key}: a {op!r} node needs children")
        return Node(op, float(p), tuple(parse_node(c, f"{key}.children[{i}]", group) for i, c in enumerate(children)))
    if op not in AUGMENTATIONS:
        raise ValueError(f"{key}.op {op!r} is not compose, one_of or one of {sorted(AUGMENTATIONS)}")
    if AUGMENTATIONS[op].group != group:
        raise ValueError(f"{key}.op {op!r} belongs to group {AUGMENTATIONS[op].group!r}, not {group!r}")
    if children:
        raise ValueError(f"{key}: leaf {op!r} cannot have children")
    return Node(op, float(p))


def _walk(node: Node, allowed: set[str], rng: np.random.Generator) -> list[str]:
    if rng.random() >= node.p:
        return []
    if not node.children:
        return [node.op] if node.op in allowed else []
    if node.op == "compose":
        return [leaf for child in node.children for leaf in _walk(child, allowed, rng)]
    options = [child for child in node.children if set(child.leaves()) & allowed]
    return _walk(options[rng.integers(len(options))], allowed, rng) if options else []


@dataclass(frozen=True)
class AugmentationTree:
    """The four group trees and the leaf augmentations they use."""

    groups: dict[str, Node]
    leaves: dict[str, Augmentation]

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> AugmentationTree:
        """From ``tasks.augmentations`` (keys ``tree`` and ``settings``)."""
        tree, settings = config.get("tree", {}), config.get("settings", {})
        groups = {g: parse_node(tree[g], f"tasks.augmentations.tree.{g}", g) for g in GROUPS if g in tree}
        unknown = sorted((set(tree) - set(GROUPS)) | (set(settings) - set(AUGMENTATIONS)))
        if unknown:
            raise ValueError(f"tasks.augmentations: unknown groups or augmentations {unknown}")
        names = [leaf for node in groups.values() for leaf in node.leaves()]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"tasks.augmentations.tree: each augmentation may appear once, {repeated} repeat")
        return cls(groups, {name: AUGMENTATIONS[name](settings.get(name)) for name in names})

    def order(self) -> list[str]:
        """Leaf names in application order (groups in :data:`GROUPS` order, then left to right)."""
        return [leaf for g in GROUPS if g in self.groups for leaf in self.groups[g].leaves()]

    def sample_plan(self, task: Task, has_labels: bool, omit: set[str], rng: np.random.Generator) -> tuple[str, ...]:
        """The augmentations applied in one episode of ``task``, in application order."""
        allowed = {n for n, a in self.leaves.items() if n not in omit and a.applies(task, has_labels)}
        chosen = {leaf for g in GROUPS if g in self.groups for leaf in _walk(self.groups[g], allowed, rng)}
        return tuple(leaf for leaf in self.order() if leaf in chosen)
