"""The dataset registry (``resources/datasets/registry.yaml``): what each archive is and where it lives.

Two kinds of entry, keyed by name (``ixi_t1``, ``adni``…):

* :class:`Archive` — downloadable: ``url``, ``filename``, ``size`` in bytes (or null), ``hash``
  (``md5:…``/``sha256:…`` where one is published, else null: the lock file records it on first
  download, :mod:`neuroicl.datasets.lock`), ``unpack`` (``tar``, ``zip`` or null), and
  ``homepage``, ``licence``, ``citation``.
* :class:`Manual` — behind a data-use agreement (``manual: true``): ``instructions`` and the
  ``expected`` files (glob patterns with a minimum count) that :mod:`neuroicl.datasets.manual` checks.

Unknown keys are errors, so a misspelled field cannot silently switch a check off.

Example:
    >>> entry = load_entry("resources/datasets/registry.yaml", "ixi_t1")
    >>> entry.url
    'https://biomedic.doc.ic.ac.uk/brain-development/downloads/IXI/IXI-T1.tar'
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from neuroicl.datasets.errors import RegistryError

HASH_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64}
UNPACK_KINDS = ("tar", "zip")
_NAME = re.compile(r"^[a-z0-9_]+$")
_COMMON = {"title", "homepage", "licence", "citation", "notes"}
_ARCHIVE_REQUIRED = {"title", "url", "filename", "homepage", "licence", "citation"}
_ARCHIVE_OPTIONAL = {"size", "approx_size", "hash", "hash_source", "unpack", "notes"}
_MANUAL_REQUIRED = {"title", "manual", "homepage", "licence", "citation", "instructions", "expected"}
_MANUAL_OPTIONAL = {"approx_size", "notes"}


@dataclass(frozen=True)
class Archive:
    """A file fetched over HTTP(S); ``hash`` is ``"<algorithm>:<hex>"`` or None (lock file)."""

    name: str
    title: str
    url: str
    filename: str
    homepage: str
    licence: str
    citation: str
    size: int | None = None
    hash: str | None = None
    hash_source: str | None = None
    unpack: str | None = None
    approx_size: str | None = None
    notes: str | None = None

    @property
    def hash_algorithm(self) -> str | None:
        return self.hash.split(":", 1)[0] if self.hash else None

    @property
    def hash_value(self) -> str | None:
        return self.hash.split(":", 1)[1] if self.hash else None


@dataclass(frozen=True)
class Expected:
    """``glob`` (relative to the entry's folder) must match at least ``min_count`` files."""

    glob: str
    min_count: int
    what: str


@dataclass(frozen=True)
class Manual:
    """A dataset the user obtains under a data-use agreement and places in its folder."""

    name: str
    title: str
    homepage: str
    licence: str
    citation: str
    instructions: str
    expected: tuple[Expected, ...]
    approx_size: str | None = None
    notes: str | None = None


Entry = Archive | Manual


def load_registry(path: str | os.PathLike) -> dict[str, Entry]:
    """Read and check every entry of the registry at ``path``."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError as error:
        raise RegistryError(
            f"dataset registry {path} does not exist; pass the path of resources/datasets/registry.yaml"
        ) from error
    except yaml.YAMLError as error:
        raise RegistryError(f"dataset registry {path} is not valid YAML: {error}") from error
    if not isinstance(raw, dict) or not raw:
        raise RegistryError(f"dataset registry {path} must map entry names to their fields, got {type(raw).__name__}")
    return {name: _entry(path, name, fields) for name, fields in raw.items()}


def load_entry(path: str | os.PathLike, name: str) -> Entry:
    """The entry ``name`` of the registry at ``path``; an unknown name lists the known ones."""
    registry = load_registry(path)
    if name not in registry:
        raise RegistryError(f"{path}: no entry {name!r}; known entries: {', '.join(sorted(registry))}")
    return registry[name]


def _entry(path: Path, name: object, fields: object) -> Entry:
    where = f"{path}: entry {name!r}"
    if not isinstance(name, str) or not _NAME.match(name):
        raise RegistryError(f"{where}: names must be lower-case letters, digits and underscores")
    if not isinstance(fields, dict):
        raise RegistryError(f"{where} must be a mapping of fields, got {type(fields).__name__}")
    manual = fields.get("manual", False)
    if manual not in (True, False):
        raise RegistryError(f"{where}: 'manual' must be true or false, got {manual!r}")
    required, optional = (_MANUAL_REQUIRED, _MANUAL_OPTIONAL) if manual else (_ARCHIVE_REQUIRED, _ARCHIVE_OPTIONAL)
    missing, unknown = required - set(fields), set(fields) - required - optional
    if missing:
        raise RegistryError(
            f"{where} lacks {sorted(missing)}; every {'manual' if manual else 'archive'} entry needs {sorted(required)}"
        )
    if unknown:
        raise RegistryError(f"{where} has unknown fields {sorted(unknown)}; allowed: {sorted(required | optional)}")
    for key in _COMMON & set(fields):
        if not isinstance(fields[key], str) or not fields[key].strip():
            raise RegistryError(f"{where}: {key!r} must be a non-empty string")
    if manual:
        return _manual(where, name, fields)
    return _archive(where, name, fields)


def _archive(where: str, name: str, fields: dict) -> Archive:
    url, filename = fields["url"], fields["filename"]
    if not isinstance(url, str) or not re.match(r"^https?://[^/\s]+/\S*$", url):
        raise RegistryError(f"{where}: url {url!r} must be an http(s) URL")
    if not isinstance(filename, str) or not filename or "/" in filename or "\\" in filename or filename.startswith("."):
        raise RegistryError(f"{where}: filename {filename!r} must be a plain file name (no folders, not hidden)")
    size = fields.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size <= 0):
        raise RegistryError(f"{where}: size {size!r} must be a positive number of bytes or null")
    digest = fields.get("hash")
    if digest is not None:
        algorithm, _, value = str(digest).partition(":")
        if algorithm not in HASH_LENGTHS or not re.fullmatch(rf"[0-9a-f]{{{HASH_LENGTHS.get(algorithm, 0)}}}", value):
            raise RegistryError(
                f"{where}: hash {digest!r} must be '<algorithm>:<lower-case hex>' with algorithm one of "
                f"{sorted(HASH_LENGTHS)}, or null"
            )
    unpack = fields.get("unpack")
    if unpack is not None and unpack not in UNPACK_KINDS:
        raise RegistryError(f"{where}: unpack {unpack!r} must be one of {list(UNPACK_KINDS)} or null")
    return Archive(
        name=name,
        title=fields["title"],
        url=url,
        filename=filename,
        homepage=fields["homepage"],
        licence=fields["licence"],
        citation=fields["citation"],
        size=size,
        hash=digest,
        hash_source=fields.get("hash_source"),
        unpack=unpack,
        approx_size=fields.get("approx_size"),
        notes=fields.get("notes"),
    )


def _manual(where: str, name: str, fields: dict) -> Manual:
    if not isinstance(fields["instructions"], str) or not fields["instructions"].strip():
        raise RegistryError(f"{where}: 'instructions' must say where to obtain the data and where to place it")
    expected = fields["expected"]
    if not isinstance(expected, list) or not expected:
        raise RegistryError(f"{where}: 'expected' must list at least one {{glob, min_count, what}}")
    checks = []
    for index, item in enumerate(expected):
        if not isinstance(item, dict) or set(item) != {"glob", "min_count", "what"}:
            raise RegistryError(
                f"{where}: expected[{index}] must have exactly the keys glob, min_count, what; got {item!r}"
            )
        glob, count = item["glob"], item["min_count"]
        if not isinstance(glob, str) or not glob or glob.startswith("/") or ".." in Path(glob).parts:
            raise RegistryError(
                f"{where}: expected[{index}].glob {glob!r} must be a relative pattern inside the entry's folder"
            )
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise RegistryError(f"{where}: expected[{index}].min_count {count!r} must be an integer ≥ 1")
        checks.append(Expected(glob, count, str(item["what"])))
    return Manual(
        name=name,
        title=fields["title"],
        homepage=fields["homepage"],
        licence=fields["licence"],
        citation=fields["citation"],
        instructions=fields["instructions"],
        expected=tuple(checks),
        approx_size=fields.get("approx_size"),
        notes=fields.get("notes"),
    )
