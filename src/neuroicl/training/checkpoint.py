"""Checkpoints keyed by a fingerprint of everything that shapes a run, for automatic resume.

Checkpoints live outside Snakemake's declared outputs (``checkpoints/<run>/<fingerprint>/``), so
Snakemake's removal of a failed job's outputs does not delete them and a rerun — or a requeued
cluster job — resumes from the last one. A changed config changes the fingerprint and therefore
the folder: a stale checkpoint is never resumed.

Example:
    >>> store = CheckpointStore("checkpoints/neuralizer-seen", fingerprint({"steps": 100}))
    >>> store.latest() is None
    True
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import torch

from neuroicl.core.io import atomic_path

_NAME = re.compile(r"step-(\d{8})\.pt")


def fingerprint(payload: dict[str, Any]) -> str:
    """First 16 hex digits of the SHA-256 of ``payload`` as canonical JSON (sorted keys)."""
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_stamp(paths: list[str]) -> list[tuple[str, int, int]]:
    """(name, size, mtime in ns) of input files: cheap, and changes when a file is rewritten."""
    stamps = []
    for path in paths:
        stat = os.stat(path)
        stamps.append((Path(path).name, stat.st_size, stat.st_mtime_ns))
    return stamps


class CheckpointStore:
    """The checkpoints of one run and fingerprint: ``<root>/<fingerprint>/step-XXXXXXXX.pt``."""

    def __init__(self, root: str | os.PathLike, key: str, keep: int = 2) -> None:
        self.folder = Path(root) / key
        self.keep = keep

    def steps(self) -> list[int]:
        """Steps with a complete checkpoint, ascending."""
        if not self.folder.is_dir():
            return []
        return sorted(int(m.group(1)) for p in self.folder.iterdir() if (m := _NAME.fullmatch(p.name)))

    def latest(self) -> dict[str, Any] | None:
        """The newest checkpoint's state (loaded on the CPU), or None."""
        steps = self.steps()
        if not steps:
            return None
        return torch.load(self.folder / f"step-{steps[-1]:08d}.pt", map_location="cpu", weights_only=False)

    def resume(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> tuple[int, list[dict[str, Any]]]:
        """Load the newest checkpoint's model and optimizer state into ``model`` and ``optimizer``; return its step
        and log rows (0 and [] without a checkpoint)."""
        state = self.latest()
        if state is None:
            return 0, []
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        return int(state["step"]), list(state["log"])

    def save(self, step: int, state: dict[str, Any]) -> Path:
        """Write ``state`` atomically as step ``step``, then drop all but the newest ``keep``."""
        path = self.folder / f"step-{step:08d}.pt"
        with atomic_path(path) as temporary:
            torch.save(state, temporary)
        for old in self.steps()[: -self.keep]:
            (self.folder / f"step-{old:08d}.pt").unlink(missing_ok=True)
        return path
