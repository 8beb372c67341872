"""Adam's implementation per device: the multi-tensor path on the CPU gives torch's default loop's weights."""

from __future__ import annotations

import copy

import pytest
import torch

from neuroicl.models import build_model
from neuroicl.training.optimizers import adam_kernel
from tests.models.conftest import TINY


def test_fused_on_cuda_multi_tensor_elsewhere():
    assert adam_kernel("cuda:0") == {"fused": True}
    assert adam_kernel(torch.device("cpu")) == {"foreach": True}


@pytest.mark.parametrize("optimizer", [torch.optim.Adam, torch.optim.AdamW])
def test_the_cpu_kernel_gives_the_default_loops_weights_to_the_bit(optimizer):
    """Channels-last weights (as the training loop's) and weight decay, through several steps."""
    model = build_model("neuralizer", generator=torch.Generator().manual_seed(0), **TINY["neuralizer"])
    model = model.to(memory_format=torch.channels_last)
    replicas = [copy.deepcopy(model) for _ in range(2)]
    optimisers = [optimizer(replicas[0].parameters(), lr=1e-2, weight_decay=1e-3),
                  optimizer(replicas[1].parameters(), lr=1e-2, weight_decay=1e-3, **adam_kernel("cpu"))]
    generator = torch.Generator().manual_seed(1)
    for _ in range(5):
        grads = [torch.randn(p.shape, generator=generator) for p in model.parameters()]
        for replica, opt in zip(replicas, optimisers, strict=True):
            for p, g in zip(replica.parameters(), grads, strict=True):
                p.grad = g.clone().contiguous(memory_format=torch.channels_last) if g.dim() == 4 else g.clone()
            opt.step()
    for default, ours in zip(*(r.parameters() for r in replicas), strict=True):
        assert torch.equal(default, ours)
    assert any(not torch.equal(a, b) for a, b in zip(model.parameters(), replicas[1].parameters(), strict=True))
