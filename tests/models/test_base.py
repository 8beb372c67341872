"""The predictor interface: input shape checks, raw vs. activated output."""

import pytest
import torch

from neuroicl.models import build_model, objective_for
from neuroicl.models.base import check_inputs


def test_accepts_interface_shapes(batch):
    target_in, context_in, context_out, _ = batch
    check_inputs(target_in, context_in, context_out)


@pytest.mark.parametrize(
    ("target", "ctx_in", "ctx_out", "match"),
    [
        ((2, 1, 32, 32), (2, 3, 3, 32, 32), (2, 3, 3, 32, 32), "target_in"),
        ((2, 3, 32, 32), (1, 3, 3, 32, 32), (1, 3, 3, 32, 32), "context_in"),
        ((2, 3, 32, 32), (2, 3, 3, 32, 32), (2, 3, 3, 16, 32), "context_out"),
        ((2, 3, 32, 32), (2, 3, 3, 32, 32), (2, 2, 3, 32, 32), "same context size"),
        ((2, 3, 32, 32), (2, 0, 3, 32, 32), (2, 0, 3, 32, 32), "at least 1"),
    ],
    ids=["target-channels", "context-batch", "context-space", "context-size-mismatch", "empty"],
)
def test_rejects_bad_shape(target, ctx_in, ctx_out, match):
    with pytest.raises(ValueError, match=match):
        check_inputs(torch.zeros(target), torch.zeros(ctx_in), torch.zeros(ctx_out))


def test_predict_applies_the_objective_activation(batch, tiny):
    model = build_model(
        "neuralizer", generator=torch.Generator().manual_seed(0), **tiny["neuralizer"]
    )
    target_in, context_in, context_out, _ = batch
    raw = model(target_in, context_in, context_out)
    sigmoid = objective_for("segmentation", mask_activation="sigmoid")
    probs = model.predict(target_in, context_in, context_out, sigmoid)
    assert torch.allclose(probs, torch.sigmoid(raw))
    assert not torch.allclose(raw, probs)
    assert torch.equal(model.predict(target_in, context_in, context_out, model.objective("segmentation")), raw)


@pytest.mark.parametrize(("name", "activation"), [("neuralizer", "identity"), ("unet", "identity"),
                                                  ("universeg", "sigmoid")])
def test_each_model_names_its_mask_activation(name, activation, tiny):
    """Neuralizer and its task-specific U-Net predict masks raw (the authors' code); UniverSeg, logits."""
    model = build_model(name, generator=torch.Generator().manual_seed(0), **tiny[name])
    assert model.objective("segmentation").activation == activation
    assert model.objective("reconstruction").activation == "identity"


def test_loss_is_per_sample(batch, tiny):
    model = build_model("unet", generator=torch.Generator().manual_seed(0), **tiny["unet"])
    target_in, context_in, context_out, target_out = batch
    loss = model.loss(target_in, context_in, context_out, target_out, objective_for("transfer"))
    assert loss.shape == (target_in.shape[0],)
