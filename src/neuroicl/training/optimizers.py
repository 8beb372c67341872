"""How every trainer's Adam and AdamW run: one fused kernel on CUDA, the multi-tensor path elsewhere.

On the CPU PyTorch's default is a loop over the parameters, one small operation at a time; its multi-tensor
(``foreach``) path does the same arithmetic in batches — the same weights to the bit, in about half the time (AdamW
over the demo Neuralizer's 106 tensors: 3.35 against 6.71 ms a step on one core; docs/performance.md, session 25).
The fused CUDA kernel is faster still but differs in the last bits, so it is kept for CUDA, where it always was.

Example:
    >>> import torch
    >>> adam_kernel(torch.device("cpu"))
    {'foreach': True}
"""

from __future__ import annotations

import torch


def adam_kernel(device: torch.device | str) -> dict[str, bool]:
    """Keyword arguments selecting Adam's / AdamW's implementation on ``device``."""
    return {"fused": True} if torch.device(device).type == "cuda" else {"foreach": True}
