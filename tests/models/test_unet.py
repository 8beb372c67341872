"""Task-specific U-Net baseline: ignores the context."""

import torch

from neuroicl.models import build_model


def _unet():
    return build_model("unet", channels=8, levels=3, generator=torch.Generator().manual_seed(0))


def test_ignores_the_context(batch):
    model = _unet()
    target_in, context_in, context_out, _ = batch
    out = model(target_in, context_in, context_out)
    assert torch.equal(out, model(target_in, context_in.flip(0), 1.0 - context_out))


def test_accepts_an_empty_context(batch):
    target_in = batch[0]
    empty = torch.zeros(target_in.shape[0], 0, *target_in.shape[1:])
    assert _unet()(target_in, empty, empty).shape == target_in.shape


def test_has_no_context_path():
    names = {name for name, _ in _unet().named_parameters()}
    assert not any("context" in name for name in names)
