"""The dry-run summary: GPU-hours from measured throughput, and what it says when nothing is measured."""

from __future__ import annotations

import pytest
import yaml

from neuroicl.plan.cases import EvalSettings
from neuroicl.plan.runs import Run
from neuroicl.plan.summary import (
    BENCH_HINT,
    comparable_throughput,
    dry_run_summary,
    estimate,
    eval_targets,
    load_throughput,
)

SETTINGS = EvalSettings(context_sizes=(1, 3), repeats=2, labels={"a": (1,), "b": (2,)}, transfer={"T1w": "T2w"})
SEEN = Run(
    "neuralizer-seen", "neuralizer", "Neuralizer-seen", ("denoising",), {"denoising": 1.0}, steps=100, batch_size=36
)
SEG = Run(
    "unet-segmentation-all",
    "unet",
    "U-Net",
    ("segmentation",),
    {"segmentation": 1.0},
    steps=10,
    batch_size=36,
    per_label=True,
)
FLOOR = Run("context_mean", "context_mean", "Floor", ("denoising",))


def _throughput(neuralizer=2.0, unet=None):
    entry = {"device": "GPU", "command": "bench", "measured": "2026-01-01"}
    return {"neuralizer": {**entry, "samples_per_s": neuralizer}, "unet": {**entry, "samples_per_s": unet}}


def test_training_hours_are_steps_times_batch_over_throughput():
    rows = estimate([SEEN], _throughput(neuralizer=2.0), {"denoising": 0}, SETTINGS, train_context=1.0)
    assert rows["train", "neuralizer"] == {"jobs": 1, "samples": 3600, "hours": pytest.approx(0.5)}


def test_per_label_networks_multiply_the_training_cost():
    rows = estimate([SEG], _throughput(unet=36.0), {"segmentation": 0}, SETTINGS, train_context=1.0)
    assert rows["train", "unet"]["samples"] == 10 * 36 * 2
    assert rows["train", "unet"]["hours"] == pytest.approx(10 * 36 * 2 / 36 / 3600)


def test_evaluation_scales_with_targets_and_context_sizes():
    rows = estimate([SEEN], _throughput(neuralizer=1.0), {"denoising": 30}, SETTINGS, train_context=1.0)
    # a third of a training sample per forward pass, x (1 + L) / (1 + 1) summed over L in (1, 3)
    assert rows["evaluate", "neuralizer"]["samples"] == pytest.approx(30 / 3 * (1 + 2))


def test_unmeasured_models_are_reported_as_such_and_parameter_free_ones_not_counted():
    text = dry_run_summary(
        [SEEN, SEG, FLOOR], _throughput(neuralizer=2.0, unet=None), {"denoising": 4, "segmentation": 4}, SETTINGS, 1.0
    )
    assert BENCH_HINT in text and "incomplete" in text
    assert "parameter-free" in text
    unet_line = next(line for line in text.splitlines() if line.startswith("train") and " unet " in line)
    assert " ? " in unet_line


def test_a_trained_model_without_an_entry_is_not_measured_rather_than_parameter_free():
    throughput = {"neuralizer": _throughput()["neuralizer"]}  # no entry for the U-Net
    targets = {"denoising": 4, "segmentation": 4}
    rows = estimate([SEEN, SEG], throughput, targets, SETTINGS, 1.0)
    assert rows["train", "unet"]["hours"] is None and rows["evaluate", "unet"]["hours"] is None
    text = dry_run_summary([SEEN, SEG], throughput, targets, SETTINGS, 1.0)
    unet_line = next(line for line in text.splitlines() if line.startswith("train") and " unet " in line)
    assert " ? " in unet_line and "no entry for 'unet'" in unet_line and "parameter-free" not in text
    assert "incomplete" in text


def test_eval_targets_skip_what_a_dataset_cannot_pose():
    datasets = {"labelled": (["T1w"], True, 5), "pair": (["T1w", "T2w"], False, 3)}
    targets = eval_targets(datasets, ["segmentation", "modality_transfer", "denoising"], SETTINGS)
    assert targets["segmentation"] == 5 * 2 * 1 * 2  # labelled only: 2 classes x 1 modality x 2 repeats
    assert targets["modality_transfer"] == 3 * 1 * 2  # T1w > T2w on the pair only
    assert targets["denoising"] == (5 * 1 + 3 * 2) * 2


def test_committed_throughput_file_is_valid(root):
    table = load_throughput(root / "bench" / "throughput.yaml")
    assert {"neuralizer", "unet", "universeg"} <= set(table)


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"samples_per_s": 1.0}, "lacks"),
        ({"samples_per_s": -1.0, "device": "d", "command": "c", "measured": "m"}, "positive"),
    ],
)
def test_a_bad_throughput_entry_names_the_model(tmp_path, entry, message):
    path = tmp_path / "throughput.yaml"
    path.write_text(yaml.safe_dump({"unet": entry}))
    with pytest.raises(ValueError, match=f"unet.*{message}|{message}.*unet|'unet' {message}"):
        load_throughput(path)


def test_a_rate_measured_at_another_size_or_width_is_not_used(root):
    config = yaml.safe_load((root / "config" / "config.yaml").read_text())  # the demo: 48 x 48 slices, 16 channels
    entry = {"device": "GPU", "command": "bench", "measured": "2026-01-01", "samples_per_s": 300.0}
    table = {
        "neuralizer": {**entry, "image_size": 192, "channels": 64},
        "unet": {**entry, "image_size": 48, "channels": 16},
    }
    out = comparable_throughput(table, config)
    assert out["neuralizer"]["samples_per_s"] is None
    assert "192x192, 64 channels" in out["neuralizer"]["note"] and "48x48, 16 channels" in out["neuralizer"]["note"]
    assert out["unet"]["samples_per_s"] == 300.0
    assert table["neuralizer"]["samples_per_s"] == 300.0  # the input is left alone


def test_mvg_is_compared_by_its_embedding_width(root):
    config = yaml.safe_load((root / "config" / "config.yaml").read_text())  # 48 x 48 slices
    config["models"]["hyperparameters"]["mvg"] = {"embed_dim": 192}
    entry = {"device": "GPU", "command": "bench", "measured": "2026-01-01", "samples_per_s": 5.0, "image_size": 48}
    out = comparable_throughput({"mvg": {**entry, "channels": 192}, "neuralizer": {**entry, "channels": 192}}, config)
    assert out["mvg"]["samples_per_s"] == 5.0  # its width is embed_dim, not the channels default
    assert out["neuralizer"]["samples_per_s"] is None
    wider = comparable_throughput({"mvg": {**entry, "channels": 1024}}, config)["mvg"]
    assert wider["samples_per_s"] is None and "1024 channels" in wider["note"] and "192 channels" in wider["note"]
