"""Logging for pipeline scripts: everything (logging, warnings, tqdm, tracebacks) goes to the rule's log.

A job's log ends with its own resource use (:data:`RESOURCES`, from ``getrusage``: the script's process and its
children, imports included; written at exit, before the interpreter's teardown), read back by :func:`job_resources`.
After writing it the job freezes the garbage collector (``gc.freeze``), so the teardown's final collections skip
every object the job made: with torch loaded they cost ≈ 0.6–1 CPU-s per job (docs/performance.md); exit codes and
the other exit handlers are as before. Snakemake's benchmark files sample a job's CPU time every 0.5 s for its first
15 s and every 30 s after, keeping the last sample, so their ``cpu_time`` misses up to 30 s of a job's end
(docs/performance.md); this line does not.
"""

from __future__ import annotations

import atexit
import gc
import logging
import re
import resource
import sys
from pathlib import Path

#: The last line of every job's log: CPU seconds (user + system) of the script's process and its children.
RESOURCES = "job resources: cpu_s={cpu:.2f} user_s={user:.2f} system_s={system:.2f} max_rss_mb={rss:.0f}"
_PATTERN = re.compile(r"job resources: cpu_s=([\d.]+) user_s=([\d.]+) system_s=([\d.]+) max_rss_mb=(\d+)")


def to_file(path: str) -> logging.Logger:
    """Send stderr and the ``neuroicl`` logger to ``path``; return that logger.

    Uncaught exceptions are written to the log too, so a failed job's log says why; at exit the job's resource
    use is logged (:data:`RESOURCES`).
    """
    handle = open(path, "w", buffering=1)  # noqa: SIM115 - lives as long as the job
    sys.stderr = handle
    logging.basicConfig(stream=handle, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", force=True)
    logging.captureWarnings(True)
    logger = logging.getLogger("neuroicl")
    atexit.register(_at_exit, logger)
    return logger


def _at_exit(logger: logging.Logger) -> None:
    """The job's last words: its resource line, then a frozen collector for a cheap teardown."""
    log_resources(logger)
    gc.freeze()


def log_resources(logger: logging.Logger) -> None:
    """Log this process's CPU seconds and peak RSS, its children's included (:data:`RESOURCES`)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    user, system = own.ru_utime + children.ru_utime, own.ru_stime + children.ru_stime
    rss_mb = max(own.ru_maxrss, children.ru_maxrss) / 1024  # Linux: KiB
    logger.info(RESOURCES.format(cpu=user + system, user=user, system=system, rss=rss_mb))


def job_resources(log: str | Path) -> dict[str, float] | None:
    """The resource line of a job's log (``cpu_s``, ``user_s``, ``system_s``, ``max_rss_mb``); None if the log has
    none (a job that never finished, or a log written before the line existed)."""
    found = None
    with open(log, errors="replace") as handle:
        for line in handle:
            match = _PATTERN.search(line)
            if match:
                found = match
    if found is None:
        return None
    return dict(zip(("cpu_s", "user_s", "system_s", "max_rss_mb"), map(float, found.groups()), strict=True))
