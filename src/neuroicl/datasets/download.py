"""Fetch a registry entry: download with pooch, verify size and hash, record new hashes, unpack.

Where files live, for a downloads folder ``D`` (the workflow uses ``resources/downloads``):

* ``D/<filename>`` — a verified download (e.g. ``D/IXI-T1.tar``, ``D/IXI.xls``);
* ``D/<entry>/`` — an unpacked archive (e.g. ``D/ixi_t1/``), or a manual entry's files;
* ``D/.partial/<entry>/`` — pooch's temporary file during a download; removed when the fetch ends.

Only verified files ever carry their final name: pooch streams into a temporary file in
``D/.partial/<entry>/``; we then check the size and hash (the registry's published hash, else the
lock file's sha256, else record one), and rename. Any failure — HTTP error, unreachable server,
a transfer cut off, a hash mismatch — deletes what was downloaded and raises with the URL and what
to do; the next run starts the download afresh (pooch does not resume partial downloads).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pooch
import requests

from neuroicl.datasets import lock, manual
from neuroicl.datasets.errors import ChecksumError, DownloadError
from neuroicl.datasets.registry import Archive, Entry, Manual, load_entry
from neuroicl.datasets.unpack import read_marker, unpack

PARTIAL = ".partial"
CHUNK = 1 << 20
log = logging.getLogger(__name__)


def fetch(
    entry_name: str,
    registry_path: str | os.PathLike,
    lock_path: str | os.PathLike,
    downloads_dir: str | os.PathLike,
    *,
    progress: bool = True,
    retries: int = 2,
    timeout: float = 60.0,
    keep_archive: bool = True,
) -> Path:
    """Make the registry entry ``entry_name`` available locally and return its path.

    * Archive with ``unpack``: download (if needed), verify, unpack; returns ``D/<entry>/``.
    * Plain file: download (if needed) and verify; returns ``D/<filename>``.
    * Manual entry: validate what the user placed in ``D/<entry>/`` and return it, or raise
      :class:`~neuroicl.datasets.errors.ManualDataError` with instructions.

    The path is the same as :func:`fetched_path` gives before anything is downloaded. A file
    already at its final name is re-verified and reused; an unpacked folder whose marker matches
    the registry and lock file is reused without touching the archive.

    Args:
        entry_name: a registry entry (``ixi_t1``, ``neurite_oasis``, ``adni``…).
        registry_path: ``resources/datasets/registry.yaml``.
        lock_path: ``resources/datasets/registry.lock.yaml`` (created when a hash is first recorded).
        downloads_dir: the downloads folder ``D``.
        progress: show pooch's progress bar (needs tqdm; silently off without it).
        retries: extra attempts after a failed transfer (pooch waits 1 s, 2 s, … between them).
        timeout: seconds without data before a transfer counts as failed.
        keep_archive: keep ``D/<filename>`` after unpacking (it is needed to re-verify or re-unpack).

    Raises:
        DownloadError: HTTP error, unreachable server or cut-off transfer (nothing kept).
        ChecksumError: size or hash mismatch (the file was deleted); names URL, expected and actual.
        UnpackError, ManualDataError, RegistryError: see :mod:`neuroicl.datasets.errors`.
    """
    entry = load_entry(registry_path, entry_name)
    downloads = Path(downloads_dir)
    target = target_path(entry, downloads)
    if isinstance(entry, Manual):
        return manual.validate(entry, target)
    recorded = lock.read_lock(lock_path).get(entry.name)
    if entry.unpack and _unpacked_matches(target, entry, recorded):
        log.info("%s: %s is already unpacked and matches the registry", entry.name, target)
        return target
    context = _Context(entry, Path(registry_path), Path(lock_path), recorded)
    archive, sha256 = _download(context, downloads, progress=progress, retries=retries, timeout=timeout)
    if not entry.unpack:
        return archive
    provenance = {
        "entry": entry.name,
        "url": entry.url,
        "filename": entry.filename,
        "hash": entry.hash,
        "sha256": sha256,
    }
    unpack(archive, entry.unpack, target, provenance)
    if not keep_archive:
        archive.unlink()
    return target


def target_path(entry: Entry, downloads_dir: str | os.PathLike) -> Path:
    """Where :func:`fetch` puts ``entry`` under ``downloads_dir`` (see the module docstring)."""
    downloads = Path(downloads_dir)
    if isinstance(entry, Manual) or entry.unpack:
        return downloads / entry.name
    return downloads / entry.filename


def fetched_path(entry_name: str, registry_path: str | os.PathLike, downloads_dir: str | os.PathLike) -> Path:
    """The path :func:`fetch` will return for ``entry_name``, known before anything is downloaded."""
    return target_path(load_entry(registry_path, entry_name), downloads_dir)


def file_digests(path: str | os.PathLike, algorithms: set[str]) -> dict[str, str]:
    """Hex digests of ``path`` for every algorithm in ``algorithms`` (``md5``, ``sha256``…), one read."""
    hashers = {algorithm: hashlib.new(algorithm) for algorithm in algorithms}
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            for hasher in hashers.values():
                hasher.update(block)
    return {algorithm: hasher.hexdigest() for algorithm, hasher in hashers.items()}


@dataclass
class _Context:
    """An archive entry with where its registry and lock live (for messages) and its lock record."""

    entry: Archive
    registry: Path
    lock_path: Path
    recorded: lock.LockRecord | None


def _download(context: _Context, downloads: Path, *, progress: bool, retries: int, timeout: float) -> tuple[Path, str]:
    """Return the verified ``D/<filename>`` and its sha256, downloading it unless a verified copy is there."""
    entry = context.entry
    final = downloads / entry.filename
    if final.exists():
        try:
            sha256 = _verify(final, context, f"the existing file {final}")
        except ChecksumError as error:
            log.warning("%s; downloading it again", error)
        else:
            _record_if_new(context, sha256, final.stat().st_size)
            return final, sha256
    staging = downloads / PARTIAL / entry.name
    shutil.rmtree(staging, ignore_errors=True)  # leftovers of a killed run: restart cleanly
    staging.mkdir(parents=True)
    try:
        fetched = _pooch_download(entry, staging, progress=progress, retries=retries, timeout=timeout)
        sha256 = _verify(fetched, context, "the downloaded file")
        _record_if_new(context, sha256, fetched.stat().st_size)
        os.replace(fetched, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        _remove_if_empty(downloads / PARTIAL)
    log.info("%s: downloaded and verified %s", entry.name, final)
    return final, sha256


def _pooch_download(entry: Archive, staging: Path, *, progress: bool, retries: int, timeout: float) -> Path:
    store = pooch.create(
        path=staging,
        base_url="",
        registry={entry.filename: None},
        urls={entry.filename: entry.url},
        retry_if_failed=retries,
    )
    downloader = pooch.HTTPDownloader(
        progressbar=progress and importlib.util.find_spec("tqdm") is not None, timeout=timeout
    )
    host = urlsplit(entry.url).netloc
    kept = "no file was kept; rerun to start the download again"
    try:
        return Path(store.fetch(entry.filename, downloader=downloader))
    except requests.exceptions.HTTPError as error:
        response = error.response
        status = f"HTTP {response.status_code} {response.reason}" if response is not None else str(error)
        raise DownloadError(
            f"{entry.name}: downloading {entry.url} failed with {status}; {kept}. If it persists, check the URL in the "
            f"registry against {entry.homepage}"
        ) from error
    except requests.exceptions.Timeout as error:
        raise DownloadError(
            f"{entry.name}: {host} sent no data for {timeout:g} s while downloading {entry.url} ({error}); {kept}"
        ) from error
    except requests.exceptions.ConnectionError as error:
        raise DownloadError(
            f"{entry.name}: could not connect to {host}, or the connection broke, while downloading {entry.url} "
            f"({error}); check the network; {kept}"
        ) from error
    except requests.exceptions.RequestException as error:
        raise DownloadError(f"{entry.name}: the transfer of {entry.url} was cut off ({error}); {kept}") from error


def _verify(path: Path, context: _Context, what: str) -> str:
    """Check size and hash of ``path``; on mismatch delete it and raise. Returns its sha256."""
    entry, recorded = context.entry, context.recorded
    size = path.stat().st_size
    expected_size, size_source = (
        (entry.size, context.registry)
        if entry.size is not None
        else (recorded.size if recorded else None, context.lock_path)
    )
    if expected_size is not None and size != expected_size:
        path.unlink()
        raise ChecksumError(
            f"{entry.name}: {what} has {size} bytes but {expected_size} are expected (size in {size_source}); "
            "the transfer was incomplete or the file changed on the server. The file was deleted; rerun to download "
            "it again."
        )
    algorithms = {"sha256"} | ({entry.hash_algorithm} if entry.hash else set())
    log.info("%s: computing %s of %s (%d bytes)", entry.name, "/".join(sorted(algorithms)), path, size)
    digests = file_digests(path, algorithms)
    if entry.hash and digests[entry.hash_algorithm] != entry.hash_value:
        path.unlink()
        raise ChecksumError(
            f"{entry.name}: {what} does not match the published {entry.hash_algorithm} hash in {context.registry} "
            f"(URL {entry.url}; expected {entry.hash_value}, actual {digests[entry.hash_algorithm]}; source of the "
            f"hash: {entry.hash_source or 'not given'}). The file was deleted; rerun to download it again. If the "
            f"mismatch persists, the server's file differs from the published one: check {entry.homepage} before "
            "changing the registry."
        )
    if not entry.hash and recorded and digests["sha256"] != recorded.sha256:
        path.unlink()
        raise ChecksumError(
            f"{entry.name}: {what} does not match the sha256 recorded in the lock file {context.lock_path} on "
            f"{recorded.recorded} (URL {entry.url}; expected {recorded.sha256}, actual {digests['sha256']}). The "
            f"file was deleted. If the file legitimately changed on the server, delete the '{entry.name}' entry from "
            f"{context.lock_path} and rerun to record the new hash; otherwise rerun to download it again."
        )
    return digests["sha256"]


def _record_if_new(context: _Context, sha256: str, size: int) -> None:
    if context.entry.hash is None and context.recorded is None:
        context.recorded = lock.record(context.lock_path, context.entry.name, sha256, size, context.entry.url)
        log.info("%s: recorded sha256 %s in %s (commit it)", context.entry.name, sha256, context.lock_path)


def _unpacked_matches(target: Path, entry: Archive, recorded: lock.LockRecord | None) -> bool:
    marker = read_marker(target)
    if marker is None:
        return False
    same_source = marker.get("url") == entry.url and marker.get("hash") == entry.hash
    return same_source and (recorded is None or marker.get("sha256") == recorded.sha256)


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass
