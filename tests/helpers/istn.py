"""A tiny two-site slice store, participants table, split and ISTN study for the ISTN study's tests.

Subjects alternate between ``siteA`` and ``siteB``; siteB's images are siteA's under a contrast curve ``x ** 1.5`` (a
site shift). Every subject has an age and a sex except the last (no covariates, as some of IXI's).

Example:
    >>> store, participants, splits = two_site_data()
    >>> study = tiny_study(task="age")
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from neuroicl.data.slice_store import SliceStore
from neuroicl.plan.istn_study import ISTNStudy, Variant
from tests.helpers.toy import toy_pool, toy_store

SITES = ("siteA", "siteB")


def two_site_data(subjects: int = 8, slices: int = 4, size: int = 16) -> tuple[SliceStore, pd.DataFrame, dict]:
    """The store, participants table and split (per site: half train, a quarter val and test)."""
    store = toy_store(toy_pool(subjects=subjects, slices=slices, size=size))
    names = sorted(store.index["subject"].unique())
    site_of = {s: SITES[i % 2] for i, s in enumerate(names)}
    index = store.index.assign(site=store.index["subject"].map(site_of))
    images = np.array(store.images, dtype=np.float32)
    shifted = (index["site"] == "siteB").to_numpy()
    images[shifted] = np.clip(images[shifted], 0, 1) ** 1.5
    store = SliceStore(images.astype(np.float16), store.mask, store.labels, index, store.modalities)
    rng = np.random.default_rng(0)
    participants = pd.DataFrame({
        "participant_id": names, "site": [site_of[s] for s in names],
        "age": [round(float(a), 1) for a in rng.uniform(20, 90, len(names))],
        "sex": ["F" if i % 4 < 2 else "M" for i in range(len(names))]})
    participants.loc[len(names) - 1, ["age", "sex"]] = [np.nan, "n/a"]
    splits: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for site in SITES:
        mine = [s for s in names if site_of[s] == site]
        splits["train"] += mine[: len(mine) // 2]
        splits["val"] += mine[len(mine) // 2: 3 * len(mine) // 4]
        splits["test"] += mine[3 * len(mine) // 4:]
    return store, participants, splits


def study_settings(steps: int = 4, source_steps: int = 4, **adaptation: Any) -> dict[str, Any]:
    """Tiny settings (:attr:`ISTNStudy.settings`)."""
    return {"batch_size": 2, "source": {"steps": source_steps, "lr": 0.001},
            "adaptation": {"steps": steps, "lr": 0.0001, "task_lr": 0.001, "identity_weight": 50.0,
                           "select_every": 2, "select_from": 0} | adaptation,
            "hyperparameters": {"features": 2, "dropout": 0.5, "spacing": 4, "max_displacement": 0.1,
                                "discriminator": 2, "task": 2, "unet": {"channels": 4, "levels": 2}},
            "seed": 0, "device": "cpu", "checkpoint_every": 2, "log_every": 2}


def tiny_study(task: str = "segmentation", modes: tuple[str, ...] = ("itn+affine",),
               directions: tuple[str, ...] = ("uni",), inits: tuple[str, ...] = ("scratch", "finetune"),
               **adaptation: Any) -> ISTNStudy:
    """A study of one task on siteA -> siteB of :func:`two_site_data`."""
    variants = tuple(Variant(m, d, i) for m in modes for d in directions for i in inits)
    return ISTNStudy("toy", ("T1w",), (task,), {"cortex": (3, 4), "lateral_ventricle": (5, 6)}, (("siteA", "siteB"),),
                     variants, True, "val", study_settings(**adaptation), 1)
