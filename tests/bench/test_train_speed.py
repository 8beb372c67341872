"""Smoke test of bench/train_speed.py: a tiny CPU run reports positive figures and --write updates the YAML.

No timing assertions: the figures depend on the machine.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch
import yaml

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--size", "16", "--channels", "4", "--batch", "2", "--context", "2", "--warmup", "1", "--steps", "1",
        "--threads", "1", "--config", str(ROOT / "config" / "config.yaml")]


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_train_speed", ROOT / "bench" / "train_speed.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


bench = _load_bench()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """Both models, one warm-up and one measured step, written to a YAML file that did not exist."""
    path = tmp_path_factory.mktemp("bench") / "throughput.yaml"
    threads = torch.get_num_threads()
    try:
        return bench.main([*TINY, "--write", str(path)]), path
    finally:
        torch.set_num_threads(threads)  # main sets --threads; leave the session's setting as it was


def test_figures_are_positive(tiny_run):
    results, _ = tiny_run
    assert [r.model for r in results] == ["neuralizer", "unet"]
    for r in results:
        for value in (r.step_s, r.samples_per_s, r.synthesis_s, r.train_tflops, r.peak_memory_gib):
            assert value > 0, r
        assert 0 < r.synthesis_share < 1
        assert r.syncs_per_step == 0, r.sync_sites  # no host round trips in the step (HostSyncGuard on the CPU)


def test_context_sizes_follow_the_model(tiny_run):
    neuralizer, unet = tiny_run[0]
    assert neuralizer.mean_context == 2
    assert unet.mean_context == 0  # the U-Net trains without context


def test_write_creates_every_model_entry(tiny_run):
    results, path = tiny_run
    table = yaml.safe_load(path.read_text())
    assert set(table) == {"neuralizer", "unet", "universeg"}
    for r in results:
        entry = table[r.model]
        assert entry["samples_per_s"] == pytest.approx(r.samples_per_s, rel=1e-3)
        assert "not a GPU" in entry["device"]
        assert entry["command"].startswith("python -m bench.train_speed --size 16")
        assert isinstance(entry["measured"], str) and len(entry["measured"]) == 10  # YYYY-MM-DD
        assert (entry["image_size"], entry["channels"], entry["batch_size"]) == (16, 4, 2)
    assert table["universeg"] == {"samples_per_s": None, "device": None, "command": None, "measured": None}


def test_write_keeps_comments_and_other_entries(tmp_path):
    path = tmp_path / "throughput.yaml"
    path.write_text("# header\nunet: # the U-Net\n  samples_per_s: null # per second\n"
                    '  device: null # e.g. "NVIDIA H100"\n  command: null\n  measured: null\n'
                    "other:\n  samples_per_s: 3\n")
    for _ in range(2):  # a second update finds its own quoted value, not a comment, before the " #"
        bench.update_throughput(path, "unet", {"samples_per_s": 12.5, "device": "GPU: x # y", "mean_context": 0.0})
    text = path.read_text()
    assert text.startswith("# header\nunet: # the U-Net\n  samples_per_s: 12.5 # per second\n"
                           "  device: 'GPU: x # y' # e.g. \"NVIDIA H100\"\n")
    table = yaml.safe_load(text)
    assert table["unet"] == {"samples_per_s": 12.5, "device": "GPU: x # y", "command": None, "measured": None,
                             "mean_context": 0.0}
    assert table["other"] == {"samples_per_s": 3}


@pytest.mark.parametrize("text", ["0", "5-2", "a", "1-"])
def test_bad_context_is_rejected(text):
    with pytest.raises(SystemExit):
        bench.parser().parse_args(["--context", text])


def test_mvg_trains_one_prompt_pair_with_its_own_loss(tmp_path):
    """MVG from the test workflow's config (its run and tiny ViT): L = 1, width = embed_dim, an entry written."""
    path = tmp_path / "throughput.yaml"
    threads = torch.get_num_threads()
    try:
        args = ["--models", "mvg", "--size", "32", "--batch", "2", "--warmup", "1", "--steps", "1", "--threads", "1",
                "--config", str(ROOT / "tests" / "config" / "config.yaml"), "--write", str(path)]
        (result,) = bench.main(args)
    finally:
        torch.set_num_threads(threads)
    assert (result.model, result.mean_context, result.channels, result.batch_size) == ("mvg", 1.0, 16, 2)
    assert result.samples_per_s > 0 and result.train_tflops > 0
    assert yaml.safe_load(path.read_text())["mvg"]["channels"] == 16


def test_mvg_needs_a_config_with_its_run():
    with pytest.raises(ValueError, match="no run 'mvg'.*config/paper.yaml"):
        bench.training_run("mvg", bench.load_config(ROOT / "config" / "config.yaml"), 16, "segmentation")
