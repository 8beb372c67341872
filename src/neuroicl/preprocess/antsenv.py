"""Import ANTsPy with a fixed thread count and random seed (they are read when ITK starts).

ANTsPy 0.6 ignores ``random_seed=``; ANTs reads ``ANTS_RANDOM_SEED`` and ITK reads
``ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS``, so both are set before the first ``import ants``.
``ants.config.set_ants_deterministic`` is avoided: it seeds NumPy's global RNG.

Measured: with 2 ITK threads the same registration differs between runs (up to 2.3 in the matrix
entries on sub-018); with 1 thread it is bit-identical. The pipeline therefore registers with
``threads=1`` and runs subjects side by side instead (docs/preprocessing.md).
"""

from __future__ import annotations

import os
import sys
from types import ModuleType


def import_ants(threads: int, seed: int = 1) -> ModuleType:
    """Return the ``ants`` module configured for ``threads`` and ``seed``.

    Raises RuntimeError if ants was already imported with another thread count, because ITK
    would silently keep the old one.
    """
    if threads < 1:
        raise ValueError(f"threads must be ≥ 1, got {threads}")
    wanted = {"ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS": str(threads), "ANTS_RANDOM_SEED": str(seed)}
    if "ants" in sys.modules:
        current = {key: os.environ.get(key) for key in wanted}
        if current != wanted:
            raise RuntimeError(
                f"ants was imported with {current}; call import_ants({threads}) before any other import of ants"
            )
        return sys.modules["ants"]
    os.environ.update(wanted)
    import ants

    return ants
