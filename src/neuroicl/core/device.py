"""Which torch device a job computes on (config ``training.device``)."""

from __future__ import annotations

import torch


def pick_device(name: str) -> torch.device:
    """``training.device``: ``auto`` (CUDA when present), ``cpu`` or ``cuda``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("training.device is 'cuda' but no CUDA device is visible; set it to 'auto' or 'cpu'")
    return torch.device(name)
