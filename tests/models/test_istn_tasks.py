"""ISTN's task models, their per-subject scores (by hand values) and the study's model file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuroicl.models.istn import ISTN
from neuroicl.models.istn_file import ISTNModel, istn_config, load_istn_model, save_istn_model
from neuroicl.models.istn_tasks import AgeScale, build_task_model, predict, selection_score, subject_scores

HPARAMS = {"features": 2, "dropout": 0.5, "spacing": 4, "max_displacement": 0.1, "task": 2,
           "unet": {"channels": 4, "levels": 2}}


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize(("task", "channels", "classes", "shape"), [
    ("sex", 1, 0, (2, 2)), ("age", 2, 0, (2, 1)), ("segmentation", 1, 2, (2, 2, 16, 16)),
    ("segmentation", 3, 3, (2, 3, 16, 16))])
def test_task_model_shapes(task, channels, classes, shape):
    model = build_task_model(task, channels, classes, HPARAMS, _gen())
    assert model(torch.rand(2, channels, 16, 16, generator=_gen(1))).shape == shape


def test_the_unet_pads_missing_channels_with_zeros():
    model = build_task_model("segmentation", 1, 2, HPARAMS, _gen())
    u = torch.rand(2, 1, 16, 16, generator=_gen(1))
    empty = u.new_zeros(2, 0, 3, 16, 16)
    expected = model.unet(torch.cat([u, torch.zeros(2, 2, 16, 16)], dim=1), empty, empty)[:, :2]
    torch.testing.assert_close(model(u), expected)
    with pytest.raises(ValueError, match="built for 1 channels"):
        model(torch.rand(2, 2, 16, 16))


def test_unknown_task_is_an_error():
    with pytest.raises(ValueError, match="ISTN task"):
        build_task_model("handedness", 1, 0, HPARAMS)


def test_sex_scores_average_the_slices_of_a_subject():
    probabilities = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.4, 0.6]])
    subjects = np.array(["a", "a", "b", "b"])
    scores = subject_scores("sex", probabilities, torch.tensor([0, 0, 0, 0]), subjects)
    assert scores == {"a": 1.0, "b": 0.0}  # a: mean (0.55, 0.45) -> F; b: (0.35, 0.65) -> M, wrong
    assert selection_score("sex", scores) == 0.5


def test_age_scores_are_absolute_errors_in_years():
    outputs = torch.tensor([[1.0], [0.0], [-1.0]])  # standardised
    scores = subject_scores("age", outputs, torch.tensor([60.0, 60.0, 30.0]), np.array(["a", "a", "b"]),
                            AgeScale(50.0, 10.0))
    assert scores == pytest.approx({"a": 5.0, "b": 10.0})  # a predicts 55, b 40
    assert selection_score("age", scores) == pytest.approx(-7.5)  # lower MAE is better


def test_segmentation_scores_a_subjects_slice_stack_per_class():
    truth = torch.zeros(2, 2, 4, 4)
    truth[0, 0, :2] = 1  # class 0: 8 pixels on slice 0
    truth[1, 1, 0, 0] = 1  # class 1: 1 pixel on slice 1
    pred = truth.clone()
    pred[1, 0, :2] = 1  # class 0 also predicted on slice 1: Dice 2 * 8 / (16 + 8)
    scores = subject_scores("segmentation", pred, truth, np.array(["a", "a"]))
    assert scores["a"] == pytest.approx((16 / 24 + 1.0) / 2)


def test_predict_keeps_the_training_mode_and_applies_the_activation():
    model = build_task_model("sex", 1, 0, HPARAMS, _gen()).train()
    out = predict(model, torch.rand(3, 1, 16, 16, generator=_gen(1)))
    assert model.training and torch.allclose(out.sum(dim=1), torch.ones(3))


def test_the_model_file_round_trips(tmp_path):
    task = build_task_model("age", 1, 0, HPARAMS, _gen())
    istn = ISTN(istn_config("itn+bspline", 1, 16, HPARAMS), generator=_gen(2))
    model = ISTNModel("age", 1, 0, HPARAMS, 16, task, AgeScale(50.0, 12.0), "itn+bspline", istn, None, 40, 0.5,
                      ["siteA"])
    save_istn_model(tmp_path / "model.pt", model)
    loaded = load_istn_model(tmp_path / "model.pt")
    u = torch.rand(2, 1, 16, 16, generator=_gen(3))
    torch.testing.assert_close(loaded.task_model(u), task.eval()(u))
    torch.testing.assert_close(loaded.istn(u)[0], istn.eval()(u)[0])
    assert (loaded.age_scale, loaded.selected_step, loaded.label_sites, loaded.reverse) == \
        (AgeScale(50.0, 12.0), 40, ["siteA"], None)
    assert not loaded.task_model.training and not loaded.istn.training
