"""Find host round trips in a training step, on any device (the CPU included).

On CUDA a step that reads a device value on the host (``.item()``, ``bool(t.any())``, ``nonzero``,
boolean-mask indexing) or copies a fresh host array to the device (``torch.as_tensor(array,
device=...)``) waits for the GPU queue to drain, so the host stops running ahead. CUDA can report
such syncs itself (``torch.cuda.set_sync_debug_mode``), but tests run on the CPU, where nothing
syncs; :class:`HostSyncGuard` finds the same round trips by watching every ATen operation:

* a *read*: an operation whose result size or value depends on tensor data and so needs it on the
  host (:data:`READS`, and indexing with a boolean mask);
* an *upload*: an operation on a tensor that was neither handed to the guard (pools, the step's
  one packed plan upload, model weights) nor made by an operation inside the guard, i.e. a tensor
  built from host data.

Reads made inside :data:`ALLOWED_READERS` are allowed: :func:`neuroicl.tasks.ops.checks.require`
asserts asynchronously on CUDA, without a sync, and the k-space helper that skips empty planes runs
on CPU tensors only.

Example:
    >>> with HostSyncGuard(allowed=[pool.images, *model.parameters()]) as guard:
    ...     loss = batch_loss(model, synthesize_planned(...))
    >>> guard.violations
    []
"""

from __future__ import annotations

import sys
import weakref
from collections import Counter
from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

#: ATen operations that read tensor data on the host (a device sync on CUDA).
READS = frozenset({
    "aten._local_scalar_dense", "aten.item", "aten.is_nonzero", "aten.equal", "aten.nonzero", "aten.nonzero_numpy",
    "aten.masked_select", "aten._unique", "aten._unique2", "aten.unique_dim", "aten.unique_consecutive",
    "aten.bincount", "aten.allclose", "aten.tolist",
})

#: (function, file) whose reads are allowed: asynchronous on CUDA, or only ever called on CPU tensors.
ALLOWED_READERS = frozenset({
    ("require", "neuroicl/tasks/ops/checks.py"),
    ("_used_planes_on_cpu", "neuroicl/tasks/ops/kspace.py"),
})


def _storage_key(tensor: Tensor) -> int | None:
    """The address of ``tensor``'s storage (``None`` for empty tensors and tensors without storage)."""
    try:
        pointer = tensor.untyped_storage().data_ptr()
    except (RuntimeError, NotImplementedError):
        return None
    return pointer or None


def _in_allowed_reader() -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        code = frame.f_code
        filename = code.co_filename.replace("\\", "/")
        if any(code.co_name == name and filename.endswith(path) for name, path in ALLOWED_READERS):
            return True
        frame = frame.f_back
    return False


class HostSyncGuard(TorchDispatchMode):
    """Record every host read and host upload of the code run inside ``with`` (see the module docstring).

    Args:
        allowed: tensors the code may use (the pools, the plan uploaded at the start of the step, the
            model's parameters and optimizer state); views of them are allowed too.

    Attributes:
        violations: one line per offending operation: kind, ATen name and the innermost
            ``neuroicl`` source line that called it.
    """

    def __init__(self, allowed: Iterable[Tensor] = ()) -> None:
        super().__init__()
        self._known: Counter[int] = Counter()  # storage address -> live tensors on it
        self.violations: list[str] = []
        self.allow(allowed)

    def allow(self, tensors: Iterable[Tensor]) -> None:
        """Let the guarded code use ``tensors`` (and views of them) as well."""
        for tensor in tensors:
            self._remember(tensor)

    def _remember(self, tensor: Tensor) -> None:
        """Count a live tensor on its storage; the count drops when the tensor dies, so a freed address
        that host memory reuses later is not mistaken for a device tensor."""
        key = _storage_key(tensor)
        if key is not None:
            self._known[key] += 1
            weakref.finalize(tensor, self._forget, key)

    def _forget(self, key: int) -> None:
        self._known[key] -= 1
        if self._known[key] <= 0:
            del self._known[key]

    def _report(self, kind: str, name: str) -> None:
        where = "?"
        frame = sys._getframe(2)
        while frame is not None:
            filename = frame.f_code.co_filename.replace("\\", "/")
            if "/neuroicl/" in filename and not filename.endswith("training/host_sync.py"):
                where = f"{filename.split('/neuroicl/')[-1]}:{frame.f_lineno}"
                break
            frame = frame.f_back
        self.violations.append(f"{kind}: {name} at {where}")

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        name = str(func.overloadpacket)
        if name == "aten.index" or name.startswith("aten.index_put"):
            indices = args[1] if len(args) > 1 else kwargs.get("indices", ())
            if any(isinstance(i, Tensor) and i.dtype == torch.bool for i in indices):
                self._report("read (boolean mask index)", name)
        elif name in READS and not _in_allowed_reader():
            self._report("read", name)
        flat, _ = tree_flatten((args, kwargs))
        for value in flat:
            if isinstance(value, Tensor) and value.dim() > 0:
                key = _storage_key(value)
                if key is not None and key not in self._known:
                    self._report("upload", name)
                    self._remember(value)  # report each host tensor once
        out = func(*args, **kwargs)
        for value in tree_flatten(out)[0]:
            if isinstance(value, Tensor):
                self._remember(value)
        return out
