"""Value checks that do not stall a GPU.

Checking a tensor's values (``bool((x >= 0).all())``) reads them on the host, which on CUDA waits
for every queued kernel. :func:`require` checks at once on the CPU (a ``ValueError`` with the
message) and asynchronously on other devices (``torch._assert_async``: no sync; a failure surfaces
as a device-side assertion at a later CUDA call). The samplers of this package never produce values
that fail these checks; they guard direct callers of the operations.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def require(condition: Tensor, message: Callable[[], str]) -> None:
    """Raise ``ValueError(message())`` unless every element of ``condition`` (bool) is True.

    ``message`` is only called on failure (it may read the offending values). Off the CPU the check
    is asynchronous and the message is lost: rerun on the CPU to see it.
    """
    if condition.device.type == "cpu":
        if not bool(condition.all()):
            raise ValueError(message())
    else:
        torch._assert_async(condition.all())
