"""UniverSeg: one logit map broadcast to three channels, read from one label channel."""

import torch

from neuroicl.models import build_model
from neuroicl.models import universeg as universeg_module
from neuroicl.models.blocks import upsample


def _universeg(**hparams):
    return build_model(
        "universeg", channels=8, levels=3, generator=torch.Generator().manual_seed(0), **hparams
    )


def test_output_channels_are_identical(batch):
    out = _universeg()(*batch[:3])
    assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 0], out[:, 2])


def test_reads_only_the_label_channel(batch):
    model = _universeg(label_channel=1)
    target_in, context_in, context_out, _ = batch
    changed = context_out.clone()
    changed[:, :, [0, 2]] = 1.0 - changed[:, :, [0, 2]]
    assert torch.equal(
        model(target_in, context_in, context_out), model(target_in, context_in, changed)
    )
    changed[:, :, 1] = 1.0 - changed[:, :, 1]
    assert not torch.allclose(
        model(target_in, context_in, context_out), model(target_in, context_in, changed)
    )


def test_upsamples_as_the_reference_implementations_upsampling_layer():
    """``align_corners=True``: UniverSeg's reference upsamples with ``nn.UpsamplingBilinear2d(scale_factor=2)``."""
    x = torch.rand(2, 3, 4, 6, 5)  # B L C H W
    expected = torch.nn.UpsamplingBilinear2d(scale_factor=2)(x.flatten(0, 1)).unflatten(0, (2, 3))
    assert torch.allclose(upsample(x, (12, 10), align_corners=True), expected)
    assert not torch.allclose(upsample(x, (12, 10)), expected)  # the backbone's (Neuralizer's) default differs


def test_the_forward_pass_uses_the_reference_upsampling(monkeypatch, batch):
    seen = []
    original = universeg_module.upsample

    def spy(x, size, align_corners=False):
        seen.append(align_corners)
        return original(x, size, align_corners)

    monkeypatch.setattr(universeg_module, "upsample", spy)
    model = build_model("universeg", generator=torch.Generator().manual_seed(0), channels=4, levels=3)
    model(batch[0], batch[1], batch[2])
    assert seen and all(seen)
