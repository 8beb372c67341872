"""MetaSeg's study on evaluation targets: the targets, Dice against T, the ablation, misalignment."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from neuroicl.evaluation.metaseg_study import (
    ablation,
    apply_misalignment,
    dice_vs_steps,
    misalignment,
    sample_misalignment,
    targets_of,
)
from neuroicl.models.metaseg import MetaSeg, MetaSegConfig
from neuroicl.plan.cases import EvalSettings
from neuroicl.tasks.setup import build

SETTINGS = EvalSettings(context_sizes=(1, 2), repeats=1, labels={"cortex": (3, 4), "ventricle": (5, 6)},
                        transfer={"T1w": "T2w"}, batch_size=4, min_label_pixels=2)


@pytest.fixture
def setups(make_pool, task_config):
    train, test = make_pool(subjects=3, size=16), make_pool(subjects=2, size=16)
    test = replace(test, subjects=["sub-100", "sub-101"])
    return {"toy": build(task_config, [train, test], "coronal")}


def _networks(steps: int = 3) -> dict[str, MetaSeg]:
    config = MetaSegConfig(width=8, hidden=1, steps=steps, lr=1e-3, fit_subset=32)
    return {label: MetaSeg(config, generator=torch.Generator().manual_seed(i)).eval()
            for i, label in enumerate(("cortex", "ventricle"))}


def test_targets_are_the_test_slices_showing_each_class(setups):
    targets = targets_of(setups, SETTINGS, ["cortex"], repeats=3)
    (part,) = targets
    modalities = len(setups["toy"].sampler.pools[1].modalities)
    assert part.label == "cortex" and len(part.images) == 2 * modalities * 3  # subjects x input modalities x repeats
    assert set(part.subjects) == {"sub-100", "sub-101"}
    assert all(part.masks[i][part.active[i]].sum() >= SETTINGS.min_label_pixels for i in range(len(part.images)))
    again = targets_of(setups, SETTINGS, ["cortex"], repeats=3)[0]
    assert torch.equal(part.images, again.images)  # the same targets every time
    with pytest.raises(ValueError, match="not evaluation.labels"):
        targets_of(setups, SETTINGS, ["nope"], repeats=1)


def test_dice_vs_steps_reads_the_ablation_at_its_own_t(setups):
    targets = targets_of(setups, SETTINGS, ["cortex", "ventricle"], repeats=2)
    steps = dice_vs_steps({"m": _networks()}, targets, [0, 1, 3])
    at_t = ablation({"m": _networks()}, targets)
    assert set(steps["metric"]) == {"dice", "generalised_dice"} and sorted(steps["steps"].unique()) == [0, 1, 3]
    assert len(steps) == 3 * 2 * sum(len(t.images) for t in targets)
    same = steps[steps["steps"] == 3].reset_index(drop=True)
    assert same["value"].tolist() == pytest.approx(at_t["value"].tolist())
    assert steps["value"].between(0, 1).all()
    refusing = {label: _refusing(net) for label, net in _networks().items()}  # known rows are read, not refitted
    reused = ablation({"m": refusing, "other": _networks(steps=2)}, targets, known=steps)
    assert reused.equals(ablation({"m": _networks(), "other": _networks(steps=2)}, targets))


def _refusing(network: MetaSeg) -> MetaSeg:
    """``network`` whose fits fail: a reused row must not fit."""
    def segment(*args, **kwargs):
        raise AssertionError("fitted a row that the known table holds")

    network.segment = segment
    return network


def test_no_misalignment_is_the_identity_and_a_level_moves_image_and_mask_together():
    generator = torch.Generator().manual_seed(0)
    theta = sample_misalignment(3, 0.0, 0.0, generator)
    assert torch.allclose(theta, torch.tensor([[1.0, 0, 0], [0, 1, 0]]).expand(3, -1, -1))
    image = torch.zeros(1, 3, 16, 16)
    image[:, :, 4:8, 4:8] = 1
    moved, mask = apply_misalignment(image, image.clone(), sample_misalignment(1, 0.0, 0.25, generator))
    assert torch.equal(mask, (mask > 0.5).float())  # nearest: the mask stays binary
    assert not torch.allclose(moved, image) and ((moved > 0.5) == (mask > 0.5)).float().mean() > 0.9
    rotated = sample_misalignment(200, 20.0, 0.0, generator)
    angles = torch.rad2deg(torch.atan2(rotated[:, 1, 0], rotated[:, 0, 0]))
    assert torch.allclose(angles.abs(), torch.full((200,), 20.0), atol=1e-4)
    assert (angles > 0).any() and (angles < 0).any()
    with pytest.raises(ValueError, match="must be >= 0"):
        sample_misalignment(1, -1.0, 0.0, generator)


def test_misalignment_scores_every_predictor_on_the_same_moved_targets(setups):
    targets = targets_of(setups, SETTINGS, ["cortex"], repeats=2)

    def truth_at_rest(target_in, context_in, context_out, family, label):  # the unmoved truth: right only at rest
        return targets[0].masks

    def thresholded_image(target_in, context_in, context_out, family, label):
        assert context_in.shape[1] == 0 and family == "segmentation" and label == "cortex"
        return (target_in > 0.5).float()

    table = misalignment({"rest": truth_at_rest, "image": thresholded_image}, targets, [0.0, 20.0], [0.0, 0.1])
    dice = table[table["metric"] == "dice"]
    assert set(dice["kind"]) == {"rotation", "translation"} and set(dice["model"]) == {"rest", "image"}
    at_rest = dice[(dice["model"] == "rest") & (dice["level"] == 0.0)]
    assert at_rest["value"].eq(1.0).all()
    moved = dice[(dice["model"] == "rest") & (dice["kind"] == "translation") & (dice["level"] == 0.1)]
    assert moved["value"].mean() < 1.0


def test_the_unmoved_level_is_predicted_once_for_both_kinds(setups):
    targets = targets_of(setups, SETTINGS, ["cortex"], repeats=2)
    calls = []

    def thresholded_image(target_in, context_in, context_out, family, label):
        calls.append(float(target_in.sum()))
        return (target_in > 0.5).float()

    table = misalignment({"image": thresholded_image}, targets, [0.0, 20.0], [0.0, 0.1])
    assert len(calls) == 3  # rotation 0 (= translation 0), rotation 20, translation 0.1
    rest = table[table["level"] == 0.0]
    by_kind = [rest[rest["kind"] == kind]["value"].to_numpy() for kind in ("rotation", "translation")]
    assert len(by_kind[0]) == len(by_kind[1]) > 0 and (by_kind[0] == by_kind[1]).all()
