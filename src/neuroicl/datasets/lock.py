"""The lock file (``resources/datasets/registry.lock.yaml``): hashes recorded on first download.

Where the registry knows no published hash for an archive, the first successful download records
its sha256, size and URL here (commit the file); every later download is verified against it, so a
file that changed on the server stops the pipeline instead of silently changing the data.

Format (YAML)::

    ixi_demographics:
      sha256: 5f1c…            # 64 hex digits
      size: 210432             # bytes
      url: https://…/IXI.xls
      recorded: '2026-05-01'   # ISO date of the first download

Writes are atomic (:func:`neuroicl.core.io.atomic_path`) and serialized with an exclusive lock on the
lock file's folder, so two downloads finishing together cannot lose each other's record.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import os
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from neuroicl.core.io import atomic_path
from neuroicl.datasets.errors import RegistryError

HEADER = """\
# Hashes recorded on the first download of archives whose registry entry (registry.yaml) has no
# published hash. Written by neuroicl.datasets.lock; commit it so every later download is verified.
# If a file changed on its server for a legitimate reason, delete its entry here and rerun.
"""


@dataclass(frozen=True)
class LockRecord:
    """What the first download of an entry looked like."""

    sha256: str
    size: int
    url: str
    recorded: str


def read_lock(path: str | os.PathLike) -> dict[str, LockRecord]:
    """All records of the lock file at ``path`` (a missing or empty file has none)."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise RegistryError(
            f"lock file {path} is not valid YAML ({error}); restore it from git or delete it to record hashes afresh"
        ) from error
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise RegistryError(
            f"lock file {path} must map entry names to records, got {type(raw).__name__}; restore it from git"
        )
    return {name: _record(path, name, fields) for name, fields in raw.items()}


def record(
    path: str | os.PathLike, entry: str, sha256: str, size: int, url: str, today: datetime.date | None = None
) -> LockRecord:
    """Add ``entry`` to the lock file at ``path`` (atomically); an existing record is an error."""
    path = Path(path)
    new = LockRecord(sha256=sha256, size=size, url=url, recorded=(today or datetime.date.today()).isoformat())
    _check(path, entry, asdict(new))
    with _exclusive(path.parent):
        records = read_lock(path)
        if entry in records and records[entry] != new:
            raise RegistryError(
                f"lock file {path} already has a record for {entry!r} ({records[entry].sha256}); "
                "delete that entry first if the file legitimately changed"
            )
        records[entry] = new
        body = yaml.safe_dump({name: asdict(rec) for name, rec in sorted(records.items())}, sort_keys=True)
        with atomic_path(path) as temporary:
            temporary.write_text(HEADER + body)
    return new


def _record(path: Path, name: object, fields: object) -> LockRecord:
    if not isinstance(fields, dict) or set(fields) != {"sha256", "size", "url", "recorded"}:
        raise RegistryError(
            f"lock file {path}: entry {name!r} must have exactly sha256, size, url, recorded; got {fields!r}"
        )
    fields = {**fields, "recorded": str(fields["recorded"])}
    _check(path, name, fields)
    return LockRecord(**fields)


def _check(path: Path, name: object, fields: dict) -> None:
    if not isinstance(fields["sha256"], str) or not re.fullmatch(r"[0-9a-f]{64}", fields["sha256"]):
        raise RegistryError(
            f"lock file {path}: entry {name!r} sha256 {fields['sha256']!r} must be 64 lower-case hex digits"
        )
    if not isinstance(fields["size"], int) or isinstance(fields["size"], bool) or fields["size"] < 0:
        raise RegistryError(f"lock file {path}: entry {name!r} size {fields['size']!r} must be a number of bytes")
    if not isinstance(fields["url"], str) or not fields["url"]:
        raise RegistryError(f"lock file {path}: entry {name!r} url must be a string")


@contextlib.contextmanager
def _exclusive(folder: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``folder`` (POSIX ``flock`` on the directory itself)."""
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        os.close(descriptor)
