"""Context-mean floor: the (weighted) mean of the context outputs, no parameters."""

import torch

from neuroicl.models import build_model, objective_for


def test_uniform_floor_is_the_context_mean(batch):
    target_in, context_in, context_out, _ = batch
    out = build_model("context_mean").predict(
        target_in, context_in, context_out, objective_for("segmentation")
    )
    assert torch.allclose(out, context_out.mean(dim=1))


def test_similarity_floor_follows_the_closest_context_input(batch):
    target_in, context_in, context_out, _ = batch
    context_in = context_in.clone()
    context_in[:, 1] = target_in
    out = build_model("context_mean", weighting="similarity", temperature=1e-3)(
        target_in, context_in, context_out
    )
    assert torch.allclose(out, context_out[:, 1], atol=1e-4)


def test_similarity_weights_sum_to_one(batch):
    target_in, context_in, _, _ = batch
    weights = build_model("context_mean", weighting="similarity").weights(target_in, context_in)
    assert torch.allclose(weights.sum(dim=1), torch.ones(target_in.shape[0]))


def test_has_no_parameters():
    assert list(build_model("context_mean").parameters()) == []
