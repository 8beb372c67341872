"""The process environment the workflow's jobs start with (torch-free: the Snakefile sets it while it parses).

glibc's malloc serves every allocation above its dynamic mmap threshold (128 KiB at first, at most 32 MiB) with a
fresh ``mmap`` and returns it with ``munmap``: each tensor of that size costs page faults and the kernel's zeroing
of its pages again, in every training and evaluation step. Raising the threshold, the trim threshold and the top
pad keeps freed memory in the process heap for the next step. Measured on demo jobs (docs/performance.md): 10-31 %
less wall time (Neuralizer's evaluation 10.6 -> 1.6 s of system time); numbers unchanged (allocation never changes
arithmetic). The cost is a heap that shrinks only when a large block at its top
is free. A value the user has set wins, so ``MALLOC_MMAP_THRESHOLD_=131072 snakemake ...`` restores glibc's start.

Example:
    >>> os.environ.update(job_environment(os.environ))
"""

from __future__ import annotations

from collections.abc import Mapping

#: glibc malloc tunables (``mallopt``'s ``M_MMAP_THRESHOLD``, ``M_TRIM_THRESHOLD``, ``M_TOP_PAD``; bytes).
MALLOC_SETTINGS = {
    "MALLOC_MMAP_THRESHOLD_": str(1 << 30),
    "MALLOC_TRIM_THRESHOLD_": str(1 << 30),
    "MALLOC_TOP_PAD_": str(1 << 28),
}


def job_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The settings of :data:`MALLOC_SETTINGS` that ``environ`` does not set already."""
    return {key: value for key, value in MALLOC_SETTINGS.items() if key not in environ}
