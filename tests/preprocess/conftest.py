"""Fixtures for preprocessing tests: tiny synthetic volumes written as NIfTI files."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest


def _blob(shape=(20, 24, 18), seed=0) -> np.ndarray:
    """A smooth positive blob with some texture, ``[X, Y, Z]`` float32."""
    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij"))
    radius = np.sqrt((grid**2).sum(0))
    texture = np.random.default_rng(seed).normal(0, 0.05, shape)
    return (np.clip(1.2 - radius, 0, None) + texture * (radius < 1)).astype(np.float32)


@pytest.fixture()
def blob():
    """``blob(shape=(20, 24, 18), seed=0)``: a smooth positive textured volume ``[X, Y, Z]``."""
    return _blob


@pytest.fixture()
def write_image(tmp_path: Path):
    """Write ``data`` with ``affine`` (default 2 mm RAS) to ``tmp_path/name``; returns the path as str."""

    def write(name: str, data: np.ndarray, affine: np.ndarray | None = None) -> str:
        path = tmp_path / name
        nib.save(nib.Nifti1Image(data, np.diag([2.0, 2.0, 2.0, 1.0]) if affine is None else affine), path)
        return str(path)

    return write
