"""Logging for pipeline scripts: everything (logging, warnings, tqdm, tracebacks) goes to the rule's log."""

from __future__ import annotations

import logging
import sys


def to_file(path: str) -> logging.Logger:
    """Send stderr and the ``neuroicl`` logger to ``path``; return that logger.

    Uncaught exceptions are written to the log too, so a failed job's log says why.
    """
    handle = open(path, "w", buffering=1)  # noqa: SIM115 - lives as long as the job
    sys.stderr = handle
    logging.basicConfig(stream=handle, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", force=True)
    logging.captureWarnings(True)
    return logging.getLogger("neuroicl")
