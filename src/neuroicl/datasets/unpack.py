"""Unpack a verified archive atomically: extract into a hidden sibling folder, then rename it into place.

The folder appears under its final name only when extraction finished, and it carries a marker
(:data:`MARKER`, JSON) naming the archive, its URL and hashes, so a later run can tell whether the
folder still matches the archive it came from. Tar members go through Python's ``"data"`` extraction
filter (no absolute paths, no ``..``, no links leaving the folder, no device files); zip members
with such names are refused. pooch's ``Untar``/``Unzip`` are not used: on Python 3.11 ``Untar``
extracts without a filter, and neither extracts atomically.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from neuroicl.datasets.errors import UnpackError

MARKER = ".neuroicl-unpacked.json"
log = logging.getLogger(__name__)


def unpack(archive: str | os.PathLike, kind: str, target: str | os.PathLike, provenance: dict) -> Path:
    """Extract ``archive`` (``kind`` ``"tar"``, any compression, or ``"zip"``) to the folder ``target``.

    ``provenance`` (entry, url, hashes) is written to ``target/MARKER``. An existing ``target`` is
    replaced; leftovers of an interrupted extraction are removed first.

    Raises:
        UnpackError: the archive is corrupt or a member would land outside ``target``; nothing is
            left under ``target``'s name, and the message names the archive.
    """
    archive, target = Path(archive), Path(target)
    for stale in target.parent.glob(f".{target.name}.unpack-*"):
        shutil.rmtree(stale, ignore_errors=True)
    temporary = target.with_name(f".{target.name}.unpack-{os.getpid()}")
    temporary.mkdir(parents=True)
    try:
        log.info("unpacking %s into %s", archive, target)
        if kind == "tar":
            _untar(archive, temporary)
        elif kind == "zip":
            _unzip(archive, temporary)
        else:
            raise UnpackError(
                f"{archive}: unknown archive kind {kind!r}; use 'tar' or 'zip' in the registry's 'unpack' field"
            )
        (temporary / MARKER).write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n")
        if target.exists():
            shutil.rmtree(target)
        os.replace(temporary, target)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return target


def read_marker(folder: str | os.PathLike) -> dict | None:
    """The provenance written by :func:`unpack` into ``folder``, or None if absent or unreadable."""
    try:
        return json.loads((Path(folder) / MARKER).read_text())
    except (OSError, ValueError):
        return None


def _untar(archive: Path, folder: Path) -> None:
    try:
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(folder, filter="data")
    except tarfile.FilterError as error:
        raise UnpackError(
            f"{archive}: refused to extract member {error.tarinfo.name!r} ({error}); the archive is not what the "
            "registry describes"
        ) from error
    except (tarfile.TarError, EOFError, OSError) as error:
        reason = " ".join(str(error).split())
        raise UnpackError(
            f"{archive}: cannot unpack ({type(error).__name__}: {reason}); delete the archive and rerun to download "
            "it again"
        ) from error


def _unzip(archive: Path, folder: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as handle:
            for name in handle.namelist():
                parts = PurePosixPath(name.replace("\\", "/")).parts
                if name.startswith(("/", "\\")) or ".." in parts or (parts and parts[0].endswith(":")):
                    raise UnpackError(
                        f"{archive}: refused to extract member {name!r}, which would land outside the folder"
                    )
            handle.extractall(folder)
    except (zipfile.BadZipFile, OSError) as error:
        raise UnpackError(
            f"{archive}: cannot unpack ({type(error).__name__}: {error}); delete the archive and rerun to download "
            "it again"
        ) from error
