"""UniverSeg: one logit map broadcast to three channels, read from one label channel."""

import torch

from neuroicl.models import build_model


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
