"""The slices one dataset offers to task synthesis, as tensors on the synthesis device.

A pool holds the rows of a :class:`~neuroicl.data.slice_store.SliceStore` that belong to a set of
subjects (a split), so that training never sees a test subject and evaluation contexts come from
the training subjects only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import Tensor

from neuroicl.data.labels import HEAD_MIN
from neuroicl.data.slice_store import SliceStore


@dataclass(frozen=True)
class Pool:
    """Slices of one dataset.

    Attributes:
        name: the dataset.
        images: ``[N, M, H, W]`` float16 whole-head images (M = ``modalities``; zero where missing).
        brain: ``[N, H, W]`` bool brain mask.
        labels: ``[N, H, W]`` uint8 label map (all zero if the dataset has none).
        subject: ``[N]`` subject code (index into ``subjects``).
        slice: ``[N]`` slice position on the model grid (the same MNI position in every subject).
        available: ``[N, M]`` bool, modalities acquired for the row's subject.
        subjects: subject ids.
        modalities: modality names.
        classes: brain label ids present in the dataset (empty if it has no label maps).
    """

    name: str
    images: Tensor
    brain: Tensor
    labels: Tensor
    subject: np.ndarray
    slice: np.ndarray
    available: np.ndarray
    subjects: list[str]
    modalities: list[str]
    classes: list[int]

    def __len__(self) -> int:
        return len(self.subject)

    @property
    def has_labels(self) -> bool:
        return bool(self.classes)

    def rows_showing(self, classes: tuple[int, ...], min_pixels: int, rows: np.ndarray | None = None) -> np.ndarray:
        """The rows (of ``rows``, default all) whose label map shows at least ``min_pixels`` pixels of ``classes``
        together: the slices on which a segmentation of those classes is a well-posed question."""
        rows = np.arange(len(self)) if rows is None else np.asarray(rows)
        labels = self.labels[torch.as_tensor(rows, device=self.labels.device)].long().cpu()
        area = torch.isin(labels, torch.tensor(classes)).flatten(1).sum(1).numpy()
        return rows[area >= min_pixels]

    def without_labels(self) -> Pool:
        """The same slices with every label map zeroed (images and brain masks only)."""
        return replace(self, labels=torch.zeros_like(self.labels), classes=[])

    @classmethod
    def from_store(cls, name: str, store: SliceStore, subjects: list[str], device: torch.device | str = "cpu") -> Pool:
        """The rows of ``store`` whose subject is in ``subjects``, loaded onto ``device``."""
        if not subjects:
            raise ValueError(f"pool {name!r}: no subjects given (is the split empty?)")
        unknown = sorted(set(subjects) - set(store.index["subject"]))
        if unknown:
            raise ValueError(f"pool {name!r}: subjects {unknown} are not in the slice store")
        ordered = sorted(subjects)
        keep = np.flatnonzero(store.index["subject"].isin(ordered).to_numpy())
        index = store.index.iloc[keep]
        available = np.array(
            [[m in str(row).split(",") for m in store.modalities] for row in index["modalities"].fillna("")], dtype=bool
        )
        labels = torch.from_numpy(np.ascontiguousarray(store.labels[keep])).to(device)
        present = torch.unique(labels).tolist()
        return cls(
            name=name,
            images=torch.from_numpy(np.ascontiguousarray(store.images[keep])).to(device),
            brain=torch.from_numpy(np.ascontiguousarray(store.mask[keep]) > 0).to(device),
            labels=labels,
            subject=np.searchsorted(ordered, index["subject"].to_numpy()),
            slice=index["slice"].to_numpy(dtype=np.int64),
            available=available,
            subjects=ordered,
            modalities=list(store.modalities),
            classes=[int(c) for c in present if 0 < c < HEAD_MIN],
        )
