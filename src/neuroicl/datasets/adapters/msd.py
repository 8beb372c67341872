"""Medical Segmentation Decathlon, Task01 BrainTumour: 484 training cases of glioma (BraTS 2016/17).

Source (registry entry ``msd_task01_brain_tumour``): the unpacked ``Task01_BrainTumour.tar``, i.e.
``Task01_BrainTumour/`` with ``dataset.json``, ``imagesTr/BRATS_001.nii.gz``… (one 4D image per case,
240 × 240 × 155 × 4), ``labelsTr/`` (tumour labels) and ``imagesTs/``. The archive also carries
macOS metadata files (``._BRATS_001.nii.gz``), which are ignored.

Kept: the training images, split into one 3D file per modality; the channel order is read from
``dataset.json`` (``"modality": {"0": "FLAIR", "1": "T1w", "2": "t1gd", "3": "T2w"}``), never
assumed. The tumour labels are not kept (the kind is unlabelled: they are not anatomy). A case whose
image is not 4D with one channel per modality, or has an all-zero channel, is skipped. Site, age and
sex are not distributed: ``n/a``.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from neuroicl.datasets.adapters.common import Candidate, Skip, Subject, Volume, load_volume, natural_key
from neuroicl.datasets.errors import AdapterError
from neuroicl.plan.layout import KINDS

NAME = "Medical Segmentation Decathlon Task01 BrainTumour, adapted by neuroicl"
TASK = "Task01_BrainTumour"
# dataset.json modality names (lower case) → project modality
MODALITY_NAMES = {"flair": "FLAIR", "t1w": "T1w", "t1gd": "T1Gd", "t2w": "T2w"}
log = logging.getLogger(__name__)


def candidates(sources: dict[str, Path]) -> Iterator[Candidate]:
    """Training cases (``BRATS_001``…) in source-id order, each loadable as a :class:`Subject`."""
    root = _task_root(sources["msd_task01_brain_tumour"])
    channels = read_channels(root / "dataset.json")
    images = [path for path in (root / "imagesTr").glob("*.nii.gz") if not path.name.startswith(".")]
    hidden = sum(1 for path in (root / "imagesTr").glob(".*"))
    if hidden:
        log.info("msd_brain_tumour: ignoring %d hidden files (macOS ._* metadata) in %s", hidden, root / "imagesTr")
    if not images:
        raise AdapterError(f"msd_brain_tumour: no *.nii.gz images in {root / 'imagesTr'}; is the download complete?")
    for path in sorted(images, key=lambda p: natural_key(p.name)):
        yield Candidate(path.name.removesuffix(".nii.gz"), functools.partial(_load, path, channels))


def read_channels(path: Path) -> tuple[str, ...]:
    """The project modality of each channel of the 4D images, from ``dataset.json``'s ``modality``."""
    try:
        modality = json.loads(path.read_text())["modality"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise AdapterError(
            f"msd_brain_tumour: cannot read the 'modality' map of {path} ({type(error).__name__}: {error})"
        ) from error
    try:
        order = sorted((int(channel), str(name)) for channel, name in modality.items())
    except (AttributeError, ValueError) as error:
        raise AdapterError(
            f"msd_brain_tumour: {path} 'modality' must map channel numbers to names, got {modality!r}"
        ) from error
    names = [MODALITY_NAMES.get(name.lower()) for _, name in order]
    channels_ok = [channel for channel, _ in order] == list(range(len(order)))
    if not channels_ok or None in names or sorted(names) != sorted(KINDS["msd_brain_tumour"].modalities):
        raise AdapterError(
            f"msd_brain_tumour: {path} 'modality' is {modality!r}; expected channels 0…3 named "
            f"{sorted(MODALITY_NAMES)} (any order). Is this the Task01_BrainTumour dataset?"
        )
    return tuple(names)


def _task_root(source: Path) -> Path:
    if (source / "dataset.json").is_file():
        return source
    roots = [
        path
        for path in source.glob(f"*{TASK}*")
        if path.is_dir() and (path / "dataset.json").is_file() and not path.name.startswith(".")
    ]
    if len(roots) != 1:
        raise AdapterError(
            f"msd_brain_tumour: expected one {TASK}/dataset.json under {source}, found {len(roots)}; is it the "
            f"unpacked {TASK}.tar?"
        )
    return roots[0]


def _load(path: Path, channels: tuple[str, ...]) -> Subject:
    volume = load_volume(path, ndim=4)
    if volume.data.shape[3] != len(channels):
        raise Skip(
            f"{path.name} has {volume.data.shape[3]} channels; {len(channels)} ({', '.join(channels)}) are expected"
        )
    images = {}
    for channel, modality in enumerate(channels):
        data = np.ascontiguousarray(volume.data[..., channel])
        if not data.any():
            raise Skip(f"{path.name}: channel {channel} ({modality}) is all zero")
        images[modality] = Volume(data, volume.affine)
    order = KINDS["msd_brain_tumour"].modalities
    return Subject({modality: images[modality] for modality in order})
