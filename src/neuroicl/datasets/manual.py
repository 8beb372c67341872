"""Manual entries: datasets behind a data-use agreement (ADNI, UK Biobank) that no rule may download.

The user obtains the files and places them in the entry's folder (``D/<entry>/``, see
:mod:`neuroicl.datasets.download`); :func:`validate` then checks every ``expected`` pattern of the
registry entry (enough files, non-empty, NIfTI headers readable). Until that passes, the rule stops
with a :class:`~neuroicl.datasets.errors.ManualDataError` that says where to obtain the data, where
to put it and what is still missing.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import nibabel as nib

from neuroicl.datasets.errors import ManualDataError
from neuroicl.datasets.registry import Manual

NIFTI_SUFFIXES = (".nii", ".nii.gz")


def validate(entry: Manual, folder: str | os.PathLike) -> Path:
    """Return ``folder`` if it holds what ``entry`` expects, else raise :class:`ManualDataError`."""
    folder = Path(folder)
    problems = _problems(entry, folder)
    if problems:
        raise ManualDataError(_message(entry, folder, problems))
    return folder


def _problems(entry: Manual, folder: Path) -> list[str]:
    if not folder.is_dir():
        return [f"the folder {folder.resolve()} does not exist"]
    problems = []
    for expected in entry.expected:
        matches = sorted(path for path in folder.glob(expected.glob) if path.is_file())
        if len(matches) < expected.min_count:
            problems.append(
                f"'{expected.glob}' matches {len(matches)} file(s), at least {expected.min_count} expected: "
                f"{expected.what}"
            )
        for path in matches:
            problem = _file_problem(path)
            if problem:
                problems.append(f"{path}: {problem}")
    return problems


def _file_problem(path: Path) -> str | None:
    if path.stat().st_size == 0:
        return "the file is empty (an interrupted copy?)"
    if path.name.endswith(NIFTI_SUFFIXES):
        try:
            image = nib.load(path)
            shape = image.shape
        except Exception as error:  # nibabel raises many types for broken files
            return f"not a readable NIfTI image ({type(error).__name__}: {error})"
        if len(shape) < 3 or min(shape[:3]) < 2:
            return f"NIfTI image of shape {shape}; a 3D volume is expected"
    return None


def _message(entry: Manual, folder: Path, problems: list[str]) -> str:
    listed = "\n".join(f"  - {problem}" for problem in problems[:20])
    more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
    return (
        f"{entry.name} ({entry.title}) is a manual dataset: its data-use agreement does not allow automatic "
        f"download.\n\nHow to obtain it and where to place it:\n{textwrap.indent(entry.instructions.strip(), '  ')}\n\n"
        f"Place the files under: {folder.resolve()}\n\nWhat is missing or wrong:\n{listed}{more}\n\n"
        f"Homepage: {entry.homepage}\nLicence: {entry.licence}\nThen rerun; the files will be checked again."
    )
