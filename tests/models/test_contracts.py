"""Contracts every predictor keeps: output shape, context-order invariance, gradient flow."""

import pytest
import torch

from neuroicl.models import MODELS, build_model, objective_for

IN_CONTEXT = ["neuralizer", "universeg", "context_mean"]
TRAINABLE = ["neuralizer", "unet", "universeg"]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_prediction_has_target_shape(name, tiny, make_batch):
    model = build_model(name, generator=torch.Generator().manual_seed(0), **tiny[name])
    target_in, context_in, context_out, _ = make_batch(b=2, l=3, size=32)
    for family in ("segmentation", "reconstruction"):
        out = model.predict(target_in, context_in, context_out, objective_for(family))
        assert out.shape == target_in.shape


@pytest.mark.parametrize("name", TRAINABLE)
def test_non_square_input_keeps_its_shape(name, tiny, make_batch):
    model = build_model(name, generator=torch.Generator().manual_seed(0), **tiny[name])
    target_in, context_in, context_out, _ = make_batch(b=1, l=2, size=40)
    target_in, context_in, context_out = (
        target_in[..., :36],
        context_in[..., :36],
        context_out[..., :36],
    )
    assert model(target_in, context_in, context_out).shape == (1, 3, 40, 36)


@pytest.mark.parametrize("name", IN_CONTEXT)
def test_invariant_to_context_order(name, tiny, batch):
    model = build_model(name, generator=torch.Generator().manual_seed(0), **tiny[name])
    target_in, context_in, context_out, _ = batch
    order = torch.tensor([2, 0, 1])
    out = model(target_in, context_in, context_out)
    shuffled = model(target_in, context_in[:, order], context_out[:, order])
    assert torch.allclose(out, shuffled, atol=1e-5)


@pytest.mark.parametrize("name", IN_CONTEXT)
def test_duplicating_the_context_changes_nothing(name, tiny, batch):
    """The context enters through a mean over L, not a sum."""
    model = build_model(name, generator=torch.Generator().manual_seed(0), **tiny[name])
    target_in, context_in, context_out, _ = batch
    out = model(target_in, context_in, context_out)
    doubled = model(target_in, context_in.repeat(1, 2, 1, 1, 1), context_out.repeat(1, 2, 1, 1, 1))
    assert torch.allclose(out, doubled, atol=1e-5)


@pytest.mark.parametrize("name", IN_CONTEXT)
def test_prediction_depends_on_context_outputs(name, tiny, batch):
    model = build_model(name, generator=torch.Generator().manual_seed(0), **tiny[name])
    target_in, context_in, context_out, _ = batch
    out = model(target_in, context_in, context_out)
    assert not torch.allclose(out, model(target_in, context_in, 1.0 - context_out))


def _params_without_gradient(model, batch, objective):
    target_in, context_in, context_out, target_out = batch
    model.loss(target_in, context_in, context_out, target_out, objective).mean().backward()
    return {
        name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0
    }


@pytest.mark.parametrize("name", TRAINABLE)
def test_gradient_reaches_every_parameter(name, tiny, batch):
    hparams = dict(tiny[name])
    if name != "unet":
        hparams["last_context_update"] = False
    model = build_model(name, generator=torch.Generator().manual_seed(0), **hparams)
    assert _params_without_gradient(model, batch, objective_for("segmentation")) == set()


@pytest.mark.parametrize(
    ("name", "dead"),
    [("neuralizer", "decoder.1.context_update"), ("universeg", "decoder.1.support_conv")],
)
def test_only_the_last_context_update_gets_no_gradient(name, dead, tiny, batch):
    model = build_model(name, generator=torch.Generator().manual_seed(0), **tiny[name])
    missing = _params_without_gradient(model, batch, objective_for("reconstruction"))
    assert missing == {f"{dead}.weight", f"{dead}.bias"}
