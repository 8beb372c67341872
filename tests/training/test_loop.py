"""The training loop: schedule, masked per-family loss, determinism, resume, checkpoint keys."""

from __future__ import annotations

import copy
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace

import numpy as np
import pytest
import torch
import yaml

from neuroicl.models.factory import build_model
from neuroicl.plan.runs import by_name, catalogue
from neuroicl.tasks.setup import build
from neuroicl.tasks.synthesize import FAMILIES, Batch, synthesize
from neuroicl.training.checkpoint import CheckpointStore, fingerprint
from neuroicl.training.data import subject_subset
from neuroicl.training.episodic import checkpoint_key, settings_for
from neuroicl.training.loop import TrainSettings, autocast_dtype, batch_loss, native_bf16, train


def test_schedule_warms_up_then_decays_to_the_floor():
    s = TrainSettings(steps=100, batch_size=1, lr=1.0, warmup_steps=10, min_lr_fraction=0.1)
    assert s.lr_at(0) == pytest.approx(0.1)
    assert s.lr_at(9) == pytest.approx(1.0)
    assert s.lr_at(10) == pytest.approx(1.0)
    assert s.lr_at(99) == pytest.approx(0.1, abs=1e-3)
    assert all(s.lr_at(i) >= s.lr_at(i + 1) for i in range(10, 99))


def test_checkpoints_must_align_with_log_rows():
    with pytest.raises(ValueError, match="multiple of training.log_every"):
        TrainSettings(steps=10, batch_size=1, checkpoint_every=5, log_every=2)


def _batch(active: list[list[bool]], families: tuple[str, ...]) -> Batch:
    g = torch.Generator().manual_seed(0)
    b = len(active)
    target_in = torch.rand(b, 3, 16, 16, generator=g)
    target_out = (torch.rand(b, 3, 16, 16, generator=g) > 0.5).float()
    context = torch.rand(b, 2, 3, 16, 16, generator=g)
    ids = torch.tensor([FAMILIES.index(f) for f in families])
    return Batch(target_in, target_out, context, context, torch.tensor(active), ("t",) * b, families, ids)


def test_loss_ignores_unscored_channels():
    model = build_model("neuralizer", channels=4, levels=2, generator=torch.Generator().manual_seed(0))
    batch = _batch([[True, False, False], [True, True, False]], ("segmentation", "reconstruction"))
    changed = replace(batch, target_out=batch.target_out.clone())
    changed.target_out[0, 1:] = 7.0  # unscored channels of the mask sample
    changed.target_out[1, 2] = -3.0  # unscored channel of the image sample
    with torch.no_grad():
        assert float(batch_loss(model, batch)) == pytest.approx(float(batch_loss(model, changed)))
        changed.target_out[1, 0] = 0.5  # a scored channel does count
        assert float(batch_loss(model, batch)) != pytest.approx(float(batch_loss(model, changed)))


def test_loss_weights_scale_each_family_alone():
    model = build_model("neuralizer", channels=4, levels=2, generator=torch.Generator().manual_seed(0))
    batch = _batch([[True, True, True], [True, True, True]], ("segmentation", "reconstruction"))
    with torch.no_grad():
        mask_only = float(batch_loss(model, batch, {"reconstruction": 0.0}))
        image_only = float(batch_loss(model, batch, {"segmentation": 0.0}))
        assert mask_only > 0 and image_only > 0
        assert float(batch_loss(model, batch)) == pytest.approx(mask_only + image_only)
        weighted = float(batch_loss(model, batch, {"segmentation": 1.0, "reconstruction": 10.0}))
        assert weighted == pytest.approx(mask_only + 10 * image_only)


def test_negative_loss_weight_is_an_error():
    with pytest.raises(ValueError, match="loss_weights"):
        TrainSettings(steps=1, batch_size=1, loss_weights={"transfer": -1.0})


def _toy_training(make_pool, task_config, tmp_path, steps=6, fail_at=None, seed=3, precision="float32"):
    pools = [make_pool(subjects=4, slices=5, size=32)]
    setup = build(task_config | {"context": {**task_config["context"], "size": [1, 3]}}, pools, "coronal")
    model = build_model("neuralizer", channels=4, levels=2, generator=torch.Generator().manual_seed(1))
    calls = {"n": 0}

    def draw(rng):
        calls["n"] += 1
        if fail_at is not None and calls["n"] == fail_at:
            raise KeyboardInterrupt("killed")
        return setup.sampler.sample(rng, 2)

    def synth(episodes, generator):
        return synthesize(pools, episodes, setup.tasks, setup.tree, generator, setup.flip_dim)

    settings = TrainSettings(steps=steps, batch_size=2, checkpoint_every=2, log_every=2, seed=seed, warmup_steps=2,
                             precision=precision)
    store = CheckpointStore(tmp_path, "key")
    log = train(model, draw, synth, settings, store, progress=False)
    return model, log


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_same_seed_same_model_and_resume_is_exact(make_pool, task_config, tmp_path):
    reference, log = _toy_training(make_pool, task_config, tmp_path / "a")
    again, _ = _toy_training(make_pool, task_config, tmp_path / "b")
    assert _same_weights(reference, again)
    assert [row["step"] for row in log] == [2, 4, 6]
    with pytest.raises(KeyboardInterrupt):  # dies in step 5, after the checkpoint of step 4
        _toy_training(make_pool, task_config, tmp_path / "c", fail_at=5)
    assert CheckpointStore(tmp_path / "c", "key").steps() == [2, 4]
    resumed, resumed_log = _toy_training(make_pool, task_config, tmp_path / "c")
    assert _same_weights(reference, resumed)
    assert [row["loss"] for row in resumed_log] == [row["loss"] for row in log]
    other, _ = _toy_training(make_pool, task_config, tmp_path / "d", seed=4)
    assert not _same_weights(reference, other)


def test_checkpoint_store_keeps_the_newest(tmp_path):
    store = CheckpointStore(tmp_path, fingerprint({"a": 1}), keep=2)
    for step in (2, 4, 6):
        store.save(step, {"step": step})
    assert store.steps() == [4, 6] and store.latest()["step"] == 6
    assert not list((tmp_path / store.folder.name).glob(".*tmp*"))


def test_a_changed_config_never_resumes_a_stale_checkpoint(root):
    config = yaml.safe_load((root / "config" / "config.yaml").read_text())
    run = by_name(catalogue(config, 6), "neuralizer-seen")

    def key(cfg, stamp=("images.npy", 1, 1)):
        return checkpoint_key(run, cfg, "", settings_for(run, cfg["training"]), ["sub-001"], stamp)

    base = key(config)
    assert key(copy.deepcopy(config)) == base
    for path, value in [(("training", "optimizer", "lr"), 0.5), (("tasks", "weights", "denoising"), 3.0),
                        (("models", "hyperparameters", "neuralizer", "channels"), 8)]:
        changed = copy.deepcopy(config)
        node = changed
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
        assert key(changed) != base, path
    assert key(config, stamp=("images.npy", 1, 2)) != base  # rewritten data


def test_subject_subsets_are_nested():
    subjects = [f"sub-{i:03d}" for i in range(8)]
    one, two, four = (subject_subset(subjects, k, 0) for k in (1, 2, 4))
    assert set(one) < set(two) < set(four) and len(four) == 4
    assert subject_subset(subjects, None, 0) == subjects
    with pytest.raises(ValueError, match="training split has 8"):
        subject_subset(subjects, 9, 0)


JOB = textwrap.dedent(
    """
    import sys, time, torch, yaml
    torch.set_num_threads(1)
    from neuroicl.models.factory import build_model
    from neuroicl.tasks.setup import build
    from neuroicl.tasks.synthesize import synthesize
    from tests.helpers.toy import toy_pool
    from neuroicl.training.checkpoint import CheckpointStore
    from neuroicl.training.loop import TrainSettings, train
    folder, out, slow = sys.argv[1], sys.argv[2], float(sys.argv[3])
    config = yaml.safe_load(open(sys.argv[4]))["tasks"]
    config["context"]["size"] = [1, 3]
    pools = [toy_pool(subjects=4)]
    setup = build(config, pools, "coronal")
    model = build_model("neuralizer", channels=4, levels=2, generator=torch.Generator().manual_seed(1))
    def draw(rng):
        time.sleep(slow)
        return setup.sampler.sample(rng, 2)
    def synth(episodes, generator):
        return synthesize(pools, episodes, setup.tasks, setup.tree, generator, setup.flip_dim)
    settings = TrainSettings(steps=30, batch_size=2, checkpoint_every=4, log_every=2, seed=5)
    train(model, draw, synth, settings, CheckpointStore(folder, "key"), progress=False)
    torch.save(model.state_dict(), out)
    """
)


def test_a_killed_job_resumes_to_the_same_weights(root, tmp_path):
    """SIGKILL a training process after its first checkpoint; the rerun ends where an uninterrupted run ends."""
    config = str(root / "config" / "config.yaml")

    def job(folder: str, out: str, slow: float):  # run from the root: tests.helpers is importable there
        return [sys.executable, "-c", JOB, str(tmp_path / folder), str(tmp_path / out), str(slow), config]

    subprocess.run(job("whole", "whole.pt", 0), check=True, cwd=root, timeout=300)
    process = subprocess.Popen(job("killed", "killed.pt", 0.2), cwd=root)
    store = CheckpointStore(tmp_path / "killed", "key")
    deadline = time.monotonic() + 240
    while not store.steps() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert store.steps() and store.steps()[-1] < 30, "the job was not killed midway"
    assert not (tmp_path / "killed.pt").exists()
    subprocess.run(job("killed", "killed.pt", 0), check=True, cwd=root, timeout=300)
    whole, resumed = (torch.load(tmp_path / name) for name in ("whole.pt", "killed.pt"))
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)
    assert np.isfinite([v.float().sum().item() for v in resumed.values()]).all()


def test_training_keeps_convolution_weights_channels_last(make_pool, task_config, tmp_path):
    """Channels-last weights on every device (the faster CPU step, docs/performance.md)."""
    model, _ = _toy_training(make_pool, task_config, tmp_path, steps=2)
    kernels = [p for p in model.parameters() if p.dim() == 4 and p.shape[1] > 1 and p.shape[2] > 1]
    assert kernels and all(p.is_contiguous(memory_format=torch.channels_last) for p in kernels)
    assert not all(p.is_contiguous() for p in kernels)


def test_precision_resolves_per_device():
    """``auto`` is bfloat16 on CUDA and on CPUs with bf16 units only; the explicit values are what they say."""
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert autocast_dtype("float32", cpu) is None and autocast_dtype("float32", cuda) is None
    assert autocast_dtype("bfloat16", cpu) is torch.bfloat16
    assert autocast_dtype("auto", cuda) is torch.bfloat16
    assert (autocast_dtype("auto", cpu) is torch.bfloat16) == native_bf16(cpu)
    with pytest.raises(ValueError, match="training.precision"):
        autocast_dtype("float16", cpu)
    with pytest.raises(ValueError, match="training.precision"):
        TrainSettings(steps=1, batch_size=1, precision="half")


def test_bfloat16_training_keeps_float32_weights_and_differs_from_float32(make_pool, task_config, tmp_path):
    """bf16 autocasts the step only: the weights and optimiser stay float32, finite, and deterministic."""
    bf16, log = _toy_training(make_pool, task_config, tmp_path / "a", steps=4, precision="bfloat16")
    again, _ = _toy_training(make_pool, task_config, tmp_path / "b", steps=4, precision="bfloat16")
    fp32, _ = _toy_training(make_pool, task_config, tmp_path / "c", steps=4)
    assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in bf16.parameters())
    assert np.isfinite([row["loss"] for row in log]).all()
    assert _same_weights(bf16, again)
    assert not _same_weights(bf16, fp32)
