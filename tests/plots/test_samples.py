"""Fig. 6–8 samples: rows per task in order, panels per context pair, the shown channels, the split in three."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib import pyplot as plt

from neuroicl.plots.samples import sample_figure, split_tasks


def samples(tasks: list[str], sizes: list[int], k: int = 4, size: int = 8) -> dict[str, np.ndarray]:
    """One sample per task; every value distinct so that panels can be traced back to their arrays."""
    n = len(tasks)
    rng = np.random.default_rng(0)
    target_in = np.zeros((n, 3, size, size))
    target_in[:, 0] = rng.uniform(0.1, 1, (n, size, size))
    return {
        "target_in": target_in,
        "target_out": rng.uniform(size=(n, 3, size, size)),
        "prediction": rng.uniform(size=(n, 3, size, size)),
        "context_in": rng.uniform(size=(n, k, 3, size, size)),
        "context_out": rng.uniform(size=(n, k, 3, size, size)),
        "active": np.tile([True, False, False], (n, 1)),
        "task": np.array(tasks),
        "modality": np.array(["T1w"] * n),
        "score": np.array([0.834] * n if tasks[0] == "segmentation" else [31.24] * n),
        "context_size": np.array(sizes),
    }


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def shown(ax: plt.Axes) -> np.ndarray:
    return np.asarray(ax.get_images()[0].get_array())


def test_split_tasks_evenly_in_order():
    tasks = [f"t{i}" for i in range(8)]
    groups = split_tasks(tasks)
    assert [len(group) for group in groups] == [3, 3, 2]
    assert [task for group in groups for task in group] == tasks
    assert split_tasks(["a", "b"]) == [["a"], ["b"], []]
    with pytest.raises(ValueError, match="figures"):
        split_tasks(tasks, 0)


def test_panels_per_row_follow_context_size_and_pairs():
    data = samples(["motion", "denoising", "motion"], sizes=[1, 4, 3], k=4)
    fig = sample_figure(data, ["motion"], context_pairs=2)  # rows: samples 0 and 2 → 3 + 2·1, 3 + 2·2
    assert len(fig.axes) == 5 + 7


def test_rows_follow_task_order_and_titles_carry_the_score():
    data = samples(["segmentation", "denoising"], sizes=[2, 2])
    data["score"] = np.array([0.834, 31.24])
    fig = sample_figure(data, ["denoising", "segmentation"], context_pairs=8)
    labels = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    assert labels == ["Noise Recon.\nT1w, L = 2", "Segmentation\nT1w, L = 2"]
    titles = [ax.get_title() for ax in fig.axes]
    assert "prediction, PSNR 31.2" in titles and "Dice 0.83" in titles


def test_shows_the_first_active_output_channel_superior_up():
    data = samples(["motion"], sizes=[1])
    data["active"] = np.array([[False, True, True]])
    target, prediction, truth = sample_figure(data, ["motion"]).axes[:3]
    assert shown(prediction) == pytest.approx(np.rot90(data["prediction"][0, 1]))
    assert shown(truth) == pytest.approx(np.rot90(data["target_out"][0, 1]))
    assert shown(target) == pytest.approx(np.rot90(data["target_in"][0, 0]))
    # H = left–right, W = inferior–superior: the last W column (superior) becomes the top row
    assert shown(truth)[0] == pytest.approx(data["target_out"][0, 1, :, -1])


def test_several_input_channels_show_as_rgb():
    data = samples(["inpainting"], sizes=[1])
    data["target_in"][0, 1] = 0.5  # e.g. the inpainting mask
    target = sample_figure(data, ["inpainting"]).axes[0]
    assert shown(target).shape == (8, 8, 3)


def test_no_sample_of_the_tasks_gives_a_note_not_an_error():
    fig = sample_figure(samples(["motion"], sizes=[1]), [])
    assert fig.axes == [] and fig.texts[0].get_text() == "no tasks left for this figure"
    assert sample_figure(samples(["motion"], sizes=[1]), ["denoising"]).texts[0].get_text() == "no samples of denoising"


def test_missing_arrays_are_named():
    data = samples(["motion"], sizes=[1])
    del data["score"]
    with pytest.raises(ValueError, match="score"):
        sample_figure(data, ["motion"])
