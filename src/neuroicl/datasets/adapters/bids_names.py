"""BIDS file names checked against the BIDS specification's own machine-readable schema.

The rules come from ``bidsschematools`` (the schema package the BIDS specification publishes; its version
is :data:`VERSION`), not from hand-written patterns: the entity order (``rules.entities``), each entity's
key and value format (``objects.entities``, ``objects.formats``), and per file rule the allowed and required
entities, suffixes and extensions (``rules.files.raw.anat.*`` for raw anatomical images,
``rules.files.deriv.imaging.anat_discrete_segmentation`` for label maps). A name that breaks one raises
:class:`NamingError`, whose message names the file and the rule.

Example:
    >>> anat_name(Path("sub-01/ses-1/anat/sub-01_ses-1_run-2_T1w.nii.gz")).entities
    {'sub': '01', 'ses': '1', 'run': '2'}
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bidsschematools import schema as bids_schema

DSEG_RULE = "anat_discrete_segmentation"


class NamingError(ValueError):
    """A file name breaks a BIDS naming rule; the message names the file and the rule."""


@dataclass(frozen=True)
class BidsName:
    """A parsed file name: ``entities`` (key → value, in file order), ``suffix`` and ``extension``."""

    entities: dict[str, str]
    suffix: str
    extension: str


@functools.cache
def _schema() -> Any:
    return bids_schema.load_schema()


def version() -> str:
    """The BIDS version of the schema the names are checked against."""
    return str(_schema().bids_version)


def anat_name(path: Path) -> BidsName:
    """Check a file of a raw ``anat`` folder against every raw anat rule; ``path`` relative to the dataset root.

    Raises:
        NamingError: naming ``path`` and the rule it breaks.
    """
    return _check(path, list(_schema().rules.files.raw.anat.values()), "rules.files.raw.anat")


def dseg_name(path: Path) -> BidsName:
    """Check a label map of a derivative ``anat`` folder (suffix ``dseg``); ``path`` relative to the derivative root.

    Raises:
        NamingError: naming ``path`` and the rule it breaks.
    """
    rule = _schema().rules.files.deriv.imaging[DSEG_RULE]
    return _check(path, [rule], f"rules.files.deriv.imaging.{DSEG_RULE}")


def folder_label(path: Path) -> str:
    """The label of a ``sub-<label>`` or ``ses-<label>`` folder (``path`` relative to the dataset root).

    Raises:
        NamingError: the label breaks the entity's ``label`` format.
    """
    key, _, label = path.name.partition("-")
    pattern = _schema().objects.formats.label.pattern
    if not re.fullmatch(pattern, label):
        raise _error(path, f"folder label {label!r} breaks the label format {pattern} of {key}-<label>",
                     "objects.formats")
    return label


def parse(path: Path) -> BidsName:
    """Split ``path``'s name into key-value entities, suffix and extension (everything after the left-most period).

    Raises:
        NamingError: a part is not ``<key>-<value>``, a key is not a BIDS entity or repeats, a value breaks
            its entity's format, or the entities are out of the BIDS order.
    """
    schema = _schema()
    stem, dot, rest = path.name.partition(".")
    *parts, suffix = stem.split("_")
    by_key = {entity.name: entity for entity in schema.objects.entities.values()}
    order = [schema.objects.entities[name].name for name in schema.rules.entities]
    entities: dict[str, str] = {}
    for part in parts:
        key, dash, value = part.partition("-")
        if not dash or key not in by_key:
            raise _error(path, f"{part!r} is not <entity>-<label> with a BIDS entity", "objects.entities")
        pattern = schema.objects.formats[by_key[key].format].pattern
        if not re.fullmatch(pattern, value):
            raise _error(path, f"{key}-{value!r} breaks the {by_key[key].format} format {pattern}", "objects.formats")
        if key in entities:
            raise _error(path, f"entity {key!r} appears twice", "objects.entities")
        entities[key] = value
    keys = list(entities)
    if keys != sorted(keys, key=order.index):
        raise _error(path, f"entities {keys} are out of order; BIDS orders them {sorted(keys, key=order.index)}",
                     "rules.entities")
    if not re.fullmatch(r"[a-zA-Z0-9]+", suffix):
        raise _error(path, f"suffix {suffix!r} is not alphanumeric", "common principles: suffix")
    return BidsName(entities, suffix, dot + rest)


def _check(path: Path, rules: list[Any], where: str) -> BidsName:
    name = parse(path)
    schema = _schema()
    fitting = [rule for rule in rules if name.suffix in rule.suffixes]
    if not fitting:
        allowed = sorted({suffix for rule in rules for suffix in rule.suffixes})
        raise _error(path, f"suffix {name.suffix!r} is not allowed here (allowed: {', '.join(allowed)})", where)
    rule = fitting[0]
    if name.extension not in rule.extensions:
        raise _error(path, f"extension {name.extension!r} is not one of {list(rule.extensions)}", where)
    allowed = {schema.objects.entities[long].name: level for long, level in rule.entities.items()}
    extra = [key for key in name.entities if key not in allowed]
    if extra:
        raise _error(path, f"entities {extra} are not allowed with suffix {name.suffix!r}", where)
    missing = [key for key, level in allowed.items() if level == "required" and key not in name.entities]
    if missing:
        raise _error(path, f"required entities {missing} are missing", where)
    for key, prefix in (("sub", "sub-"), ("ses", "ses-")):
        folder = next((part for part in path.parts[:-1] if part.startswith(prefix)), None)
        if folder is not None and name.entities.get(key) != folder.removeprefix(prefix):
            raise _error(path, f"{key}-{name.entities.get(key)} differs from its folder {folder}",
                         "common principles: file name entities match the folders")
    return name


def _error(path: Path, problem: str, rule: str) -> NamingError:
    return NamingError(f"{path}: {problem} (BIDS {version()} schema, {rule})")
