"""Planning training episodes: task, datasets, subjects, slices and modalities (supplement G).

An :class:`Episode` is the explicit, discrete plan of one sample — a target and ``L`` context
items — drawn from a ``numpy.random.Generator``; :func:`neuroicl.tasks.synthesize.synthesize`
turns plans into tensors. Rules (supplement G):

* the task is drawn with the Table 7 weights (``tasks.weights``);
* the target's dataset is drawn from the datasets valid for the task; the context datasets come
  with chances ``tasks.context.dataset_mix``: all the target's dataset, each item a random valid
  dataset, or only datasets other than the target's. With a single valid dataset the last two
  degenerate to the first (there is nothing else to draw);
* the target subject never appears in its own context; context subjects are distinct while the
  dataset has enough of them, and their slices lie within ``slice_window`` positions of the
  target's (slices are at the same MNI position in every subject);
* inputs have 1–3 modalities (fewer where a task needs a channel or a separate target); for
  segmentation and modality transfer every context item uses the target's modalities, for the
  other tasks each item draws its own.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from neuroicl.tasks.augment import AugmentationTree
from neuroicl.tasks.base import Task, check_range
from neuroicl.tasks.pool import Pool

MIXES = ("same", "random", "other")


@dataclass(frozen=True)
class Episode:
    """The plan of one sample; arrays have one entry per item, the target first.

    Attributes:
        task: task name.
        pools: ``[1+L]`` index of each item's pool.
        rows: ``[1+L]`` row within that pool.
        inputs: ``[1+L, 3]`` modality index (into the pool's modalities) per input channel, -1 = unused.
        target_modality: ``[1+L]`` modality index of a separate target (-1 = none).
        choice: the task's discrete choice (e.g. the classes a segmentation target joins).
        augmentations: augmentations applied to every item, in order.
    """

    task: str
    pools: np.ndarray
    rows: np.ndarray
    inputs: np.ndarray
    target_modality: np.ndarray
    choice: tuple[int, ...] = ()
    augmentations: tuple[str, ...] = ()

    @property
    def context_size(self) -> int:
        return len(self.rows) - 1

    def truncated(self, context_size: int) -> Episode:
        """The same episode with only the first ``context_size`` context items (nested context sets)."""
        keep = slice(0, context_size + 1)
        arrays = (self.pools[keep], self.rows[keep], self.inputs[keep], self.target_modality[keep])
        return Episode(self.task, *arrays, self.choice, self.augmentations)


@dataclass(frozen=True)
class ContextSettings:
    """``tasks.context``: context size range, slice window, and dataset mix (same, random, other)."""

    size: tuple[int, int] = (1, 32)
    slice_window: int = 2
    dataset_mix: tuple[float, float, float] = (1 / 3, 1 / 3, 1 / 3)

    def __post_init__(self) -> None:
        check_range("tasks.context.size", self.size, 1)
        if self.slice_window < 0:
            raise ValueError(f"tasks.context.slice_window must be >= 0, got {self.slice_window}")
        if len(self.dataset_mix) != 3 or min(self.dataset_mix) < 0 or sum(self.dataset_mix) <= 0:
            raise ValueError(f"tasks.context.dataset_mix must be three non-negative chances, got {self.dataset_mix}")


class EpisodeSampler:
    """Draws :class:`Episode` plans from pools of slices (one pool per dataset)."""

    def __init__(
        self,
        pools: list[Pool],
        tasks: dict[str, Task],
        weights: dict[str, float],
        context: ContextSettings,
        tree: AugmentationTree | None = None,
        omit: dict[str, list[str]] | None = None,
    ) -> None:
        unknown = sorted(set(weights) - set(tasks))
        if unknown:
            raise ValueError(f"tasks.weights names tasks {unknown} that are not built; built: {sorted(tasks)}")
        self.pools, self.tasks, self.context, self.tree = pools, tasks, context, tree
        self.omit = {name: set(names) for name, names in (omit or {}).items()}
        self.names = [name for name in tasks if weights.get(name, 0) > 0]
        if not self.names:
            raise ValueError(f"tasks.weights gives no task a positive weight: {weights}")
        total = sum(weights[name] for name in self.names)
        self.chances = np.array([weights[name] / total for name in self.names])
        self.valid = {name: self._valid_pools(task) for name, task in tasks.items()}

    def _valid_pools(self, task: Task) -> list[int]:
        return [
            i
            for i, pool in enumerate(self.pools)
            if (pool.has_labels or not task.needs_labels) and pool.available.sum(1).max() >= task.min_modalities
        ]

    def sample(self, rng: np.random.Generator, batch_size: int, context_size: int | None = None) -> list[Episode]:
        """``batch_size`` episodes sharing one context size (drawn from ``tasks.context.size`` if None)."""
        low, high = self.context.size
        size = int(rng.integers(low, high + 1)) if context_size is None else context_size
        tasks = rng.choice(len(self.names), size=batch_size, p=self.chances)
        return [self.episode(rng, self.names[t], size) for t in tasks]

    def episode(
        self,
        rng: np.random.Generator,
        task_name: str,
        context_size: int,
        target: tuple[int, int] | None = None,
        choice: tuple[int, ...] | None = None,
        augment: bool = True,
        context_pools: list[int] | None = None,
        modalities: tuple[list[str], str | None] | None = None,
        target_pools: list[int] | None = None,
    ) -> Episode:
        """One episode of ``task_name``.

        ``target`` fixes (pool, row) and ``choice`` the task's choice; ``context_pools`` restricts
        where context items come from (evaluation: a test-split target, training-split contexts).
        ``modalities`` = (input modality names, separate target modality or None) fixes the
        modalities of the target *and* of every context item (evaluation cases).
        ``target_pools`` restricts where a drawn target comes from (a case's dataset).
        Pools with the same ``name`` are one dataset for the dataset mix.
        """
        task = self.tasks[task_name]
        valid = self.valid[task_name]
        if not valid:
            names = [pool.name for pool in self.pools]
            raise ValueError(f"task {task_name!r}: no dataset among {names} can provide it (labels/modalities)")
        if target is None:
            allowed = valid if target_pools is None else [i for i in valid if i in target_pools]
            if not allowed:
                raise ValueError(f"task {task_name!r}: none of the target pools {target_pools} can provide it")
            pool_index = allowed[rng.integers(len(allowed))]
            rows = np.flatnonzero(self.pools[pool_index].available.sum(1) >= task.min_modalities)
            target = (pool_index, int(rows[rng.integers(len(rows))]))
        pool_index, row = target
        pool = self.pools[pool_index]
        if modalities is None:
            inputs, target_modality = self._modalities(rng, task, pool, row)
        else:
            inputs, target_modality = _fixed_modalities(pool, row, *modalities)
        items = [(pool_index, row, inputs, target_modality)]
        sources = valid if context_pools is None else [i for i in context_pools if i in valid]
        if not sources:
            raise ValueError(f"task {task_name!r}: none of the context pools {context_pools} can provide it")
        shared = task.shared_modalities or modalities is not None
        items += self._context(rng, task, sources, target, context_size, inputs, target_modality, shared)
        if choice is None:
            choice = task.choose(rng, pool.classes)
        plan: tuple[str, ...] = ()
        if augment and self.tree is not None:
            has_labels = all(self.pools[i].has_labels for i, *_ in items)
            plan = self.tree.sample_plan(task, has_labels, self.omit.get(task_name, set()), rng)
        return Episode(
            task=task_name,
            pools=np.array([i[0] for i in items]),
            rows=np.array([i[1] for i in items]),
            inputs=np.stack([i[2] for i in items]),
            target_modality=np.array([i[3] for i in items]),
            choice=tuple(choice),
            augmentations=plan,
        )

    def _modalities(self, rng: np.random.Generator, task: Task, pool: Pool, row: int) -> tuple[np.ndarray, int]:
        available = np.flatnonzero(pool.available[row])
        spare = len(available) - int(task.separate_target)
        count = int(rng.integers(1, min(task.max_inputs, spare) + 1))
        picked = rng.permutation(available)
        inputs = np.full(3, -1)
        inputs[:count] = np.sort(picked[:count])
        return inputs, int(picked[count]) if task.separate_target else -1

    def _context_pools(self, rng: np.random.Generator, valid: list[int], target_pool: int, n: int) -> np.ndarray:
        mix = np.asarray(self.context.dataset_mix, dtype=float)
        mode = MIXES[rng.choice(3, p=mix / mix.sum())]
        dataset = self.pools[target_pool].name
        same = [i for i in valid if self.pools[i].name == dataset]
        others = [i for i in valid if self.pools[i].name != dataset]
        if mode == "same" and same or not others:
            return rng.choice(same or valid, size=n)
        return rng.choice(valid if mode == "random" else others, size=n)

    def _context(
        self,
        rng: np.random.Generator,
        task: Task,
        valid: list[int],
        target: tuple[int, int],
        n: int,
        inputs: np.ndarray,
        target_modality: int,
        shared: bool,
    ) -> list[tuple[int, int, np.ndarray, int]]:
        target_pool, target_row = target
        source = self.pools[target_pool]
        needed = [source.modalities[m] for m in inputs if m >= 0]
        if target_modality >= 0:
            needed.append(source.modalities[target_modality])
        position = source.slice[target_row]
        pool_of_item = self._context_pools(rng, valid, target_pool, n)
        items: list[tuple[int, int, np.ndarray, int]] = []
        for pool_index in np.unique(pool_of_item):
            pool = self.pools[pool_index]
            ok = np.abs(pool.slice - position) <= self.context.slice_window
            subject = source.subjects[source.subject[target_row]]
            if pool.name == source.name and subject in pool.subjects:  # never the target's own subject
                ok &= pool.subject != pool.subjects.index(subject)
            if shared:
                wanted = [pool.modalities.index(m) for m in needed if m in pool.modalities]
                ok &= pool.available[:, wanted].all(1) if len(wanted) == len(needed) else False
            else:
                ok &= pool.available.sum(1) >= task.min_modalities
            candidates = np.flatnonzero(ok)
            if len(candidates) == 0:
                raise ValueError(
                    f"task {task.name!r}: dataset {pool.name!r} has no context slice within "
                    f"{self.context.slice_window} of position {position} from another subject with modalities "
                    f"{needed}; widen tasks.context.slice_window or add subjects"
                )
            for row in self._pick_rows(rng, pool, candidates, int((pool_of_item == pool_index).sum())):
                if shared:
                    channels = np.array([pool.modalities.index(source.modalities[m]) if m >= 0 else -1 for m in inputs])
                    out = pool.modalities.index(needed[-1]) if target_modality >= 0 else -1
                else:
                    channels, out = self._modalities(rng, task, pool, row)
                items.append((int(pool_index), int(row), channels, out))
        order = rng.permutation(len(items))  # mix the datasets' items
        return [items[i] for i in order]

    @staticmethod
    def _pick_rows(rng: np.random.Generator, pool: Pool, candidates: np.ndarray, n: int) -> list[int]:
        """``n`` rows from ``candidates``, from distinct subjects while there are enough of them."""
        subjects = np.unique(pool.subject[candidates])
        chosen = rng.choice(subjects, size=n, replace=n > len(subjects))
        rows = []
        for subject in chosen:
            own = candidates[pool.subject[candidates] == subject]
            rows.append(int(own[rng.integers(len(own))]))
        return rows


def _fixed_modalities(pool: Pool, row: int, inputs: list[str], target: str | None) -> tuple[np.ndarray, int]:
    """Input channel indices ``[3]`` and target index of fixed modality names, checked against the row."""
    wanted = [*inputs, *([target] if target else [])]
    missing = [m for m in wanted if m not in pool.modalities or not pool.available[row, pool.modalities.index(m)]]
    if missing or not 1 <= len(inputs) <= 3:
        raise ValueError(f"pool {pool.name!r} row {row}: modalities {missing or inputs} not available (1-3 inputs)")
    channels = np.full(3, -1)
    channels[: len(inputs)] = [pool.modalities.index(m) for m in inputs]
    return channels, pool.modalities.index(target) if target else -1


def stable_seed(*parts: object) -> int:
    """A seed in ``[0, 2**63)`` from stable ids, e.g. ``(dataset, subject, task, repeat)`` for evaluation draws.

    The same parts give the same seed on every machine and Python run (unlike ``hash``), so every
    model is scored on the same inputs and contexts.
    """
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1
