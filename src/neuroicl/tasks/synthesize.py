"""Turn episode plans into model inputs: gather, intensity augmentations, task, mask/channel/spatial augmentations.

Everything after gathering runs batched on the pools' device, grouped by task and by
augmentation, so the same code synthesises training batches on the GPU. Random draws come from
one ``torch.Generator`` in a fixed order (intensity leaves, tasks by name, the other leaves), so a
seed fixes the batch.

No host round trips: every index the batch needs (which rows to gather, which items each task and
augmentation acts on, the tasks' discrete choices) is worked out on the host from the episode plans
first (:func:`plan`), packed into one integer buffer and copied to the device in one non-blocking
transfer (:func:`upload`); the device work after it never reads a value back to the host
(checked by :class:`tests.helpers.host_sync.HostSyncGuard`), so on a GPU the host can plan
the next step while the device still computes this one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from neuroicl.plan.families import FAMILIES
from neuroicl.tasks.augment import Augmentation, AugmentationTree
from neuroicl.tasks.base import Items, Params, Task
from neuroicl.tasks.episodes import Episode
from neuroicl.tasks.ops.spatial import LEFT_RIGHT_DIM
from neuroicl.tasks.pool import Pool


@dataclass(frozen=True)
class Batch:
    """Model inputs and targets of B episodes with L context items each.

    ``target_in``/``target_out`` ``[B, 3, H, W]``; ``context_in``/``context_out`` ``[B, L, 3, H, W]``;
    ``active`` ``[B, 3]`` bool: the target output channels to score; ``tasks``/``families`` per episode;
    ``family_ids`` ``[B]`` long on the device: each episode's family as an index into :data:`FAMILIES`.
    """

    target_in: Tensor
    target_out: Tensor
    context_in: Tensor
    context_out: Tensor
    active: Tensor
    tasks: tuple[str, ...]
    families: tuple[str, ...]
    family_ids: Tensor


def upload(arrays: dict[str, np.ndarray], device: torch.device) -> dict[str, Tensor]:
    """Copy integer/bool host arrays to ``device`` in one transfer; return int64 views by name.

    The arrays are packed into one int64 buffer (pinned on CUDA, so the copy is asynchronous and
    does not wait for the device queue); each returned tensor has its array's shape.
    """
    flat = np.concatenate([np.asarray(a, dtype=np.int64).ravel() for a in arrays.values()] or [np.zeros(0, np.int64)])
    host = torch.from_numpy(flat)
    if device.type == "cuda":
        host = host.pin_memory()
    buffer = host.to(device, non_blocking=True)
    out, offset = {}, 0
    for name, array in arrays.items():
        size = int(np.prod(np.shape(array), dtype=np.int64))
        out[name] = buffer[offset : offset + size].view(np.shape(array))
        offset += size
    return out


def _item_index(episodes: list[int], per: int) -> np.ndarray:
    """Items of ``episodes`` (each ``per`` items, one after another), ``[len(episodes) * per]``."""
    return (np.asarray(episodes, dtype=np.int64)[:, None] * per + np.arange(per)).ravel()


def plan(
    pools: list[Pool], episodes: list[Episode], tasks: dict[str, Task], tree: AugmentationTree | None
) -> dict[str, np.ndarray]:
    """Every index of the batch, worked out on the host from the episode plans (see the module docstring).

    Keys: ``gather.<p>.*`` (per pool p: destination items and channels, source rows in the pool's
    flattened ``[N * M, H, W]`` images), ``channels`` and ``brain_only`` (per item), ``task.<name>``
    and ``leaf.<name>`` (the items each task or augmentation acts on), ``choice.<name>.*`` (the
    task's :meth:`~neuroicl.tasks.base.Task.choice_arrays`), ``aligned``/``binary`` (per item),
    ``family`` (per episode).
    """
    per = episodes[0].context_size + 1
    pool_of, rows = np.concatenate([e.pools for e in episodes]), np.concatenate([e.rows for e in episodes])
    inputs = np.concatenate([e.inputs for e in episodes])
    out = np.concatenate([e.target_modality for e in episodes])
    arrays: dict[str, np.ndarray] = {}
    for p, pool in enumerate(pools):
        chosen = np.flatnonzero(pool_of == p)
        m, mine = pool.images.shape[1], rows[chosen]
        item, channel = np.nonzero(inputs[chosen] >= 0)
        has = out[chosen] >= 0
        arrays |= {
            f"gather.{p}.items": chosen, f"gather.{p}.rows": mine,
            f"gather.{p}.image_items": chosen[item], f"gather.{p}.image_channels": channel,
            f"gather.{p}.image_sources": mine[item] * m + inputs[chosen][item, channel],
            f"gather.{p}.target_items": chosen[has], f"gather.{p}.target_sources": mine[has] * m + out[chosen][has],
        }
    arrays["channels"] = inputs >= 0
    arrays["brain_only"] = np.array([tasks[e.task].brain_only for e in episodes for _ in e.rows])
    for name in sorted({e.task for e in episodes}):
        chosen = [i for i, e in enumerate(episodes) if e.task == name]
        arrays[f"task.{name}"] = _item_index(chosen, per)
        choices = tasks[name].choice_arrays([episodes[i].choice for i in chosen])
        arrays |= {f"choice.{name}.{key}": value for key, value in choices.items()}
    for name in tree.order() if tree is not None else []:
        chosen = [i for i, e in enumerate(episodes) if name in e.augmentations]
        if chosen:
            arrays[f"leaf.{name}"] = _item_index(chosen, per)
    outputs = np.array([tasks[e.task].output for e in episodes for _ in range(per)])
    arrays["aligned"], arrays["binary"] = outputs == "aligned", outputs == "mask"
    arrays["family"] = np.array([FAMILIES.index(tasks[e.task].family) for e in episodes])
    return arrays


def gather(pools: list[Pool], index: dict[str, Tensor], n: int) -> Items:
    """The source tensors of the ``n`` items (see :data:`neuroicl.tasks.base.Items`), from the uploaded plan.

    Only the used channels are copied (float16 → float32); unused channels and missing targets stay zero.
    """
    device = pools[0].images.device
    h, w = pools[0].images.shape[-2:]
    state = {
        "images": torch.zeros(n, 3, h, w, device=device),
        "target": torch.zeros(n, h, w, device=device),
        "labels": torch.zeros(n, h, w, dtype=torch.long, device=device),
        "brain": torch.zeros(n, h, w, dtype=torch.bool, device=device),
    }
    for p, pool in enumerate(pools):
        if index[f"gather.{p}.items"].numel() == 0:  # a shape: known on the host
            continue
        if pool.images.shape[-2:] != (h, w):
            raise ValueError(f"pool {pool.name!r} has slices {tuple(pool.images.shape[-2:])}, others {(h, w)}")
        flat = pool.images.flatten(0, 1)  # [N * M, H, W]: row r, modality k at r * M + k
        state["images"][index[f"gather.{p}.image_items"], index[f"gather.{p}.image_channels"]] = (
            flat[index[f"gather.{p}.image_sources"]].float()
        )
        state["target"][index[f"gather.{p}.target_items"]] = flat[index[f"gather.{p}.target_sources"]].float()
        items, rows = index[f"gather.{p}.items"], index[f"gather.{p}.rows"]
        state["labels"][items] = pool.labels[rows].long()
        state["brain"][items] = pool.brain[rows]
    brain_only = index["brain_only"].bool()
    keep = (state["brain"] | ~brain_only[:, None, None]).float()
    state["images"] = state["images"] * keep[:, None]
    state["target"] = state["target"] * keep
    state["channels"] = index["channels"].bool()
    state["head"] = ~brain_only
    return state


def _expand(params: Params, per: int) -> Params:
    return {k: v.repeat_interleave(per, dim=0) for k, v in params.items()}


def _subset(state: Items, index: Tensor) -> Items:
    """The items ``index`` of ``state``."""
    return {k: v[index] for k, v in state.items()}


def _run(op: Augmentation, index: Tensor, state: Items, per: int, generator: torch.Generator) -> None:
    part = _subset(state, index)
    params = _expand(op.sample(len(index) // per, generator), per)
    params |= op.sample_items(params, part, generator)
    for key, value in op.apply(part, params).items():
        state[key] = state[key].index_copy(0, index, value.to(state[key].dtype))


def synthesize(
    pools: list[Pool],
    episodes: list[Episode],
    tasks: dict[str, Task],
    tree: AugmentationTree | None,
    generator: torch.Generator,
    flip_dim: int | None = LEFT_RIGHT_DIM,
) -> Batch:
    """The :class:`Batch` of ``episodes`` (all with the same context size).

    ``flip_dim`` is the image axis that runs left–right (:data:`LEFT_RIGHT_DIM` for coronal and axial
    slices, None for sagittal ones; see :func:`neuroicl.tasks.setup.flip_dim`); episodes planned with
    ``random_flip`` need one.
    """
    sizes = {e.context_size for e in episodes}
    if len(sizes) != 1:
        raise ValueError(f"episodes of one batch must share the context size, got {sorted(sizes)}")
    if flip_dim is None and any("random_flip" in e.augmentations for e in episodes):
        raise ValueError("random_flip needs a left-right image axis; omit it for sagittal slices")
    if flip_dim not in (None, LEFT_RIGHT_DIM):
        raise ValueError(f"flip_dim must be {LEFT_RIGHT_DIM} (H) or None, got {flip_dim}")
    index = upload(plan(pools, episodes, tasks, tree), generator.device)
    return synthesize_planned(pools, episodes, tasks, tree, generator, index)


def synthesize_planned(
    pools: list[Pool],
    episodes: list[Episode],
    tasks: dict[str, Task],
    tree: AugmentationTree | None,
    generator: torch.Generator,
    index: dict[str, Tensor],
) -> Batch:
    """The device part of :func:`synthesize`, given the uploaded :func:`plan` ``index`` (no host round trips).

    ``episodes`` are read only for what the host already knows (task names, augmentation names, sizes).
    """
    per, device = episodes[0].context_size + 1, generator.device
    state = gather(pools, index, len(episodes) * per)
    order = tree.order() if tree is not None else []

    def leaves(group: str) -> None:
        for name in order:
            if tree.leaves[name].group == group and f"leaf.{name}" in index:
                _run(tree.leaves[name], index[f"leaf.{name}"], state, per, generator)

    leaves("intensity")
    x, y = torch.zeros_like(state["images"]), torch.zeros_like(state["images"])
    active = torch.zeros_like(state["channels"])
    for name in sorted({e.task for e in episodes}):
        task, items = tasks[name], index[f"task.{name}"]
        n = len(items) // per
        part = _subset(state, items)
        prefix = f"choice.{name}."
        choices = {key[len(prefix):]: value for key, value in index.items() if key.startswith(prefix)}
        params = task.choice_params(choices, n, device) | task.sample(n, generator)
        params = _expand(params, per)
        params |= task.sample_items(params, part, generator)
        xi, yi, ai = task.apply(part, params)
        x, y, active = x.index_copy(0, items, xi), y.index_copy(0, items, yi.float()), active.index_copy(0, items, ai)
    state |= {"x": x, "y": y, "active": active, "aligned": index["aligned"].bool(), "binary": index["binary"].bool()}
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
        family_ids=index["family"],
    )
