"""Errors raised while fetching and adapting real datasets.

Every message names the registry entry, the URL or file concerned and says what to do; the
workflow shows it as the reason a rule failed.
"""

from __future__ import annotations


class DatasetError(RuntimeError):
    """Base class: something about a real dataset stops the pipeline."""


class RegistryError(DatasetError, ValueError):
    """``resources/datasets/registry.yaml`` (or the lock file) is malformed or lacks an entry."""


class DownloadError(DatasetError):
    """A download failed (HTTP error, server unreachable, transfer cut off); no file was kept."""


class ChecksumError(DownloadError):
    """A downloaded file does not match its expected size or hash; it was deleted."""


class UnpackError(DownloadError):
    """A verified archive cannot be unpacked (corrupt, or a member would escape the target)."""


class ManualDataError(DatasetError):
    """A dataset behind a data-use agreement is missing or incomplete; the message says how to get it."""


class AdapterError(DatasetError, ValueError):
    """An adapter cannot build the common layout (missing files, too few valid subjects, unknown labels)."""
