"""Turn episode plans into model inputs: gather, intensity augmentations, task, mask/channel/spatial augmentations.

Everything after gathering runs batched on the pools' device, grouped by task and by
augmentation, so the same code synthesises training batches on the GPU. Random draws come from
one ``torch.Generator`` in a fixed order (intensity leaves, tasks by name, the other leaves), so a
seed fixes the batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from neuroicl.tasks.augment import Augmentation, AugmentationTree
from neuroicl.tasks.base import Items, Params, Task
from neuroicl.tasks.episodes import Episode
from neuroicl.tasks.pool import Pool


@dataclass(frozen=True)
class Batch:
    """Model inputs and targets of B episodes with L context items each.

    ``target_in``/``target_out`` ``[B, 3, H, W]``; ``context_in``/``context_out`` ``[B, L, 3, H, W]``;
    ``active`` ``[B, 3]`` bool: the target output channels to score; ``tasks``/``families`` per episode.
    """

    target_in: Tensor
    target_out: Tensor
    context_in: Tensor
    context_out: Tensor
    active: Tensor
    tasks: tuple[str, ...]
    families: tuple[str, ...]


def gather(pools: list[Pool], episodes: list[Episode], tasks: dict[str, Task]) -> Items:
    """The source tensors of every item, episodes one after another (see :data:`neuroicl.tasks.base.Items`).

    Only the used channels are copied (float16 → float32); unused channels and missing targets stay zero.
    """
    pool_of, rows = np.concatenate([e.pools for e in episodes]), np.concatenate([e.rows for e in episodes])
    inputs = np.concatenate([e.inputs for e in episodes])
    out = np.concatenate([e.target_modality for e in episodes])
    device = pools[0].images.device
    n, (h, w) = len(rows), pools[0].images.shape[-2:]
    state = {
        "images": torch.zeros(n, 3, h, w, device=device),
        "target": torch.zeros(n, h, w, device=device),
        "labels": torch.zeros(n, h, w, dtype=torch.long, device=device),
        "brain": torch.zeros(n, h, w, dtype=torch.bool, device=device),
    }

    def on_device(array: np.ndarray) -> Tensor:
        return torch.as_tensor(array, device=device)

    for p, pool in enumerate(pools):
        chosen = np.flatnonzero(pool_of == p)
        if len(chosen) == 0:
            continue
        if pool.images.shape[-2:] != (h, w):
            raise ValueError(f"pool {pool.name!r} has slices {tuple(pool.images.shape[-2:])}, others {(h, w)}")
        m = pool.images.shape[1]
        flat = pool.images.flatten(0, 1)  # [N * M, H, W]: row r, modality k at r * M + k
        item, channel = np.nonzero(inputs[chosen] >= 0)
        source = rows[chosen][item] * m + inputs[chosen][item, channel]
        state["images"][on_device(chosen[item]), on_device(channel)] = flat[on_device(source)].float()
        has = out[chosen] >= 0
        if has.any():
            source = rows[chosen][has] * m + out[chosen][has]
            state["target"][on_device(chosen[has])] = flat[on_device(source)].float()
        state["labels"][on_device(chosen)] = pool.labels[on_device(rows[chosen])].long()
        state["brain"][on_device(chosen)] = pool.brain[on_device(rows[chosen])]
    brain_only = on_device(np.array([tasks[e.task].brain_only for e in episodes for _ in e.rows]))
    keep = (state["brain"] | ~brain_only[:, None, None]).float()
    state["images"] = state["images"] * keep[:, None]
    state["target"] = state["target"] * keep
    state["channels"] = on_device(inputs >= 0)
    state["head"] = ~brain_only
    return state


def _expand(params: Params, per: int) -> Params:
    return {k: v.repeat_interleave(per, dim=0) for k, v in params.items()}


def _items(episodes: list[int], per: int, device: torch.device) -> Tensor:
    return (torch.as_tensor(episodes, device=device)[:, None] * per + torch.arange(per, device=device)).flatten()


def _subset(state: Items, index: Tensor) -> Items:
    """The items ``index`` of ``state`` (0-dim entries, such as ``flip_dim``, are shared)."""
    return {k: v[index] if v.dim() else v for k, v in state.items()}


def _run(op: Augmentation, chosen: list[int], state: Items, per: int, generator: torch.Generator) -> None:
    index = _items(chosen, per, generator.device)
    part = _subset(state, index)
    params = _expand(op.sample(len(chosen), generator), per)
    params |= op.sample_items(params, part, generator)
    for key, value in op.apply(part, params).items():
        state[key] = state[key].index_copy(0, index, value.to(state[key].dtype))


def synthesize(
    pools: list[Pool],
    episodes: list[Episode],
    tasks: dict[str, Task],
    tree: AugmentationTree | None,
    generator: torch.Generator,
    flip_dim: int | None = 2,
) -> Batch:
    """The :class:`Batch` of ``episodes`` (all with the same context size).

    ``flip_dim`` is the image axis that runs left–right (2 = H for coronal and axial slices; see
    :func:`neuroicl.tasks.setup.flip_dim`); episodes planned with ``random_flip`` need one.
    """
    sizes = {e.context_size for e in episodes}
    if len(sizes) != 1:
        raise ValueError(f"episodes of one batch must share the context size, got {sorted(sizes)}")
    per, device = sizes.pop() + 1, generator.device
    state = gather(pools, episodes, tasks)
    if flip_dim is None and any("random_flip" in e.augmentations for e in episodes):
        raise ValueError("random_flip needs a left-right image axis; omit it for sagittal slices")
    state["flip_dim"] = torch.tensor(2 if flip_dim is None else flip_dim)
    order = tree.order() if tree is not None else []

    def leaves(group: str) -> None:
        for name in order:
            op = tree.leaves[name]
            chosen = [i for i, e in enumerate(episodes) if name in e.augmentations]
            if op.group == group and chosen:
                _run(op, chosen, state, per, generator)

    leaves("intensity")
    x, y = torch.zeros_like(state["images"]), torch.zeros_like(state["images"])
    active = torch.zeros_like(state["channels"])
    for name in sorted({e.task for e in episodes}):
        task = tasks[name]
        chosen = [i for i, e in enumerate(episodes) if e.task == name]
        index = _items(chosen, per, device)
        part = _subset(state, index)
        params = task.choice_params([episodes[i].choice for i in chosen], device) | task.sample(len(chosen), generator)
        params = _expand(params, per)
        params |= task.sample_items(params, part, generator)
        xi, yi, ai = task.apply(part, params)
        x, y, active = x.index_copy(0, index, xi), y.index_copy(0, index, yi.float()), active.index_copy(0, index, ai)
    outputs = [tasks[e.task].output for e in episodes for _ in range(per)]
    state |= {"x": x, "y": y, "active": active}
    state["aligned"] = torch.as_tensor([o == "aligned" for o in outputs], device=device)
    state["binary"] = torch.as_tensor([o == "mask" for o in outputs], device=device)
    for group in ("mask", "channel", "spatial"):
        leaves(group)
    b, (h, w) = len(episodes), state["x"].shape[-2:]
    x, y = state["x"].view(b, per, 3, h, w), state["y"].view(b, per, 3, h, w)
    return Batch(
        target_in=x[:, 0],
        target_out=y[:, 0],
        context_in=x[:, 1:],
        context_out=y[:, 1:],
        active=state["active"].view(b, per, 3)[:, 0],
        tasks=tuple(e.task for e in episodes),
        families=tuple(tasks[e.task].family for e in episodes),
    )
