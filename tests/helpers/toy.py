"""A tiny synthetic pool for tests, examples and benchmarks: 6 subjects x 5 slices of 32x32, four modalities.

Example:
    >>> pool = toy_pool(subjects=3)
    >>> tuple(pool.images.shape)  # N M H W
    (15, 4, 32, 32)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from neuroicl.data.slice_store import SliceStore
from neuroicl.tasks.pool import Pool

MODALITIES = ["T1w", "T2w", "PDw", "FLAIR"]


def toy_pool(name: str = "toy", labels: bool = True, subjects: int = 6, slices: int = 5, size: int = 32) -> Pool:
    """Modality m is a smooth brain with value (m + 1) / 5 plus texture; labels split it into halves and rings."""
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    radius = (xx.square() + yy.square()).sqrt()
    brain = radius < 0.7
    head = radius < 0.9
    label = torch.zeros(size, size, dtype=torch.uint8)
    label[brain & (yy < 0)] = 3  # left cortex
    label[brain & (yy >= 0)] = 4  # right cortex
    label[brain & (radius < 0.4) & (yy < 0)] = 5
    label[brain & (radius < 0.4) & (yy >= 0)] = 6
    label[brain & (radius < 0.15)] = 27
    n = subjects * slices
    images = torch.zeros(n, len(MODALITIES), size, size)
    for m in range(len(MODALITIES)):
        texture = 0.05 * torch.cos(6 * xx + m) * torch.sin(5 * yy)
        images[:, m] = torch.where(brain, (m + 1) / 5 + texture + 0.02 * label.float() / 27, 0.3 * head.float())
    return Pool(
        name=name,
        images=images.half(),
        brain=brain.expand(n, size, size).clone(),
        labels=(label if labels else torch.zeros_like(label)).expand(n, size, size).clone(),
        subject=np.repeat(np.arange(subjects), slices),
        slice=np.tile(np.arange(slices) + 10, subjects),
        available=np.ones((n, len(MODALITIES)), dtype=bool),
        subjects=[f"sub-{i:03d}" for i in range(subjects)],
        modalities=list(MODALITIES),
        classes=[3, 4, 5, 6, 27] if labels else [],
    )


def toy_store(pool: Pool, modalities: int = 4) -> SliceStore:
    """An in-memory slice store holding a toy pool (its first ``modalities`` modalities)."""
    names = pool.modalities[:modalities]
    index = pd.DataFrame({
        "row": range(len(pool)), "subject": [pool.subjects[i] for i in pool.subject], "site": "s",
        "slice": pool.slice, "modalities": ",".join(names),
    })
    return SliceStore(images=pool.images[:, :modalities].numpy(), mask=pool.brain.numpy().astype(np.uint8),
                      labels=pool.labels.numpy(), index=index, modalities=names)


def toy_split(pool: Pool, n_train: int) -> dict[str, list[str]]:
    """The first ``n_train`` subjects train, the rest test (no validation subjects)."""
    return {"train": pool.subjects[:n_train], "val": [], "test": pool.subjects[n_train:]}
