"""HostSyncGuard: it finds each kind of host round trip, and lets device-only work and ``require`` pass."""

import dataclasses

import numpy as np
import pytest
import torch

from neuroicl.models.factory import build_model
from neuroicl.tasks.ops.checks import require
from neuroicl.tasks.setup import build
from neuroicl.tasks.synthesize import synthesize
from neuroicl.training.loop import batch_loss
from tests.helpers.host_sync import HostSyncGuard


@pytest.fixture
def device_tensor():
    return torch.arange(12.0).reshape(3, 4)


def _violations(allowed, work) -> list[str]:
    with HostSyncGuard(allowed) as guard:
        work()
    return guard.violations


def test_device_only_work_passes(device_tensor):
    def work():
        x = (device_tensor * 2).softmax(1)
        index = torch.argsort(x[:, 0])
        torch.where(x > 0.1, x, torch.zeros_like(x)).index_select(0, index).sum()

    assert _violations([device_tensor], work) == []


@pytest.mark.parametrize(
    ("name", "work"),
    [
        ("read: aten._local_scalar_dense", lambda t: float(t.sum())),
        ("read: aten._local_scalar_dense", lambda t: bool((t > 0).any())),
        ("read: aten.nonzero", lambda t: torch.nonzero(t)),
        ("read (boolean mask index)", lambda t: t[t > 3]),
        ("upload", lambda t: t + torch.as_tensor(np.ones(4, dtype=np.float32))),
        ("upload", lambda t: t * torch.tensor([1.0, 2.0, 3.0, 4.0])),
    ],
)
def test_each_round_trip_is_reported(device_tensor, name, work):
    violations = _violations([device_tensor], lambda: work(device_tensor))
    assert violations and violations[0].startswith(name), violations


def test_a_tensor_made_outside_the_guard_counts_as_an_upload(device_tensor):
    outside = torch.ones(3, 4)
    assert _violations([device_tensor], lambda: device_tensor + outside)[0].startswith("upload")
    assert _violations([device_tensor, outside], lambda: device_tensor + outside) == []


def test_require_is_an_allowed_reader_and_still_checks(device_tensor):
    assert _violations([device_tensor], lambda: require(device_tensor >= 0, lambda: "negative")) == []
    with pytest.raises(ValueError, match="too big"):
        require(device_tensor < 5, lambda: "too big")


def test_violations_name_the_calling_source_line():
    from neuroicl.tasks.ops import perlin

    cells = torch.tensor([2, 3])
    violations = _violations([cells], lambda: perlin.sample_perlin(2, (8, 8), cells, 1, torch.Generator()))
    assert any("tasks/ops/perlin.py" in v for v in violations)  # max_cells None reads cells.max() on the host
    assert _violations([cells], lambda: perlin.sample_perlin(2, (8, 8), cells, 1, torch.Generator(), max_cells=4)) == []


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA: the CPU tests above stand in for it")
def test_a_cuda_training_step_does_not_synchronise(make_pool, task_config):
    device = torch.device("cuda")
    pool = make_pool()
    pool = dataclasses.replace(pool, images=pool.images.to(device), labels=pool.labels.to(device),
                               brain=pool.brain.to(device))
    setup = build(task_config, [pool], "coronal")
    model = build_model("neuralizer", channels=8, levels=2, generator=torch.Generator().manual_seed(0), device=device)
    optimizer = torch.optim.AdamW(model.parameters())
    for step in range(3):  # the first step warms up (lazy allocations, cuDNN choices)
        episodes = setup.sampler.sample(np.random.default_rng(step), 8, context_size=2)
        torch.cuda.set_sync_debug_mode("error" if step else "default")
        try:
            batch = synthesize([pool], episodes, setup.tasks, setup.tree, torch.Generator(device).manual_seed(step))
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = batch_loss(model, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
        finally:
            torch.cuda.set_sync_debug_mode("default")
