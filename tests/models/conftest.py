"""Shared fixtures for the model tests: tiny seeded inputs and tiny model configurations."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]

#: Tiny hyperparameters per model name: fast on two CPU cores.
TINY = {
    "neuralizer": {"channels": 8, "levels": 3},
    "unet": {"channels": 8, "levels": 3},
    "universeg": {"channels": 8, "levels": 3},
    "context_mean": {},
    "identity": {},
    "metaseg": {"width": 8, "hidden": 1, "steps": 2},
    "mvg": {"image_size": 32, "patch_size": 8, "embed_dim": 16, "depth": 2, "heads": 2, "decoder_channels": 4},
}


def _make_batch(seed: int = 0, b: int = 2, l: int = 3, size: int = 32) -> Batch:
    """``target_in``/``target_out [B,3,H,W]``, ``context_in``/``context_out [B,L,3,H,W]``.

    Outputs are binary masks so that every objective applies.
    """
    g = torch.Generator().manual_seed(seed)
    target_in = torch.rand(b, 3, size, size, generator=g)
    context_in = torch.rand(b, l, 3, size, size, generator=g)
    context_out = (torch.rand(b, l, 3, size, size, generator=g) > 0.5).float()
    target_out = (torch.rand(b, 3, size, size, generator=g) > 0.5).float()
    return target_in, context_in, context_out, target_out


@pytest.fixture
def make_batch() -> Callable[..., Batch]:
    return _make_batch


@pytest.fixture
def batch() -> Batch:
    return _make_batch()


@pytest.fixture
def tiny() -> dict[str, dict[str, int]]:
    """Tiny hyperparameters per model name."""
    return {name: dict(hparams) for name, hparams in TINY.items()}


@pytest.fixture(autouse=True)
def single_thread():
    """One intra-op thread: tiny tensors gain nothing, and threads oversubscribe busy cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
