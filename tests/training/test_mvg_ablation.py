"""MVG's trainer setting for the Table 5c ablation: ``segmentation_mask_ratio`` (MIM for the mask families)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuroicl.models.mvg import MVG, MVGConfig
from neuroicl.models.mvg_masks import ar_mask
from neuroicl.plan.runs import by_name, catalogue
from neuroicl.training.episodic import synthesizer, task_setup
from neuroicl.training.mvg import MVGSettings, mvg_step_loss


def _masks(config, pool, settings: MVGSettings) -> tuple[torch.Tensor, torch.Tensor]:
    """The patch masks ``[B, N]`` one training step of ``settings`` draws, and which samples are masks ``[B]``."""
    run = by_name(catalogue(config, n_train=4), "mvg")
    one = type(run).from_dict({**run.to_dict(), "max_context": 1})
    setup = task_setup(one, config["tasks"], [pool], "coronal")
    batch = synthesizer([pool], setup)(setup.sampler.sample(np.random.default_rng(0), 8), torch.Generator())
    model = MVG(MVGConfig(**config["models"]["hyperparameters"]["mvg"]), generator=torch.Generator().manual_seed(0))
    seen = []

    def forward(image, label, mask):
        seen.append(mask)
        return torch.zeros_like(label)

    mvg_step_loss(model, settings)(forward, batch, None, torch.Generator().manual_seed(5))
    is_mask = torch.tensor([family == "segmentation" for family in batch.families])
    return seen[0], is_mask


@pytest.mark.parametrize("ratio", [0.5, 0.75])
def test_segmentation_mask_ratio_masks_that_share_of_the_canvas(test_config, make_pool, ratio):
    pool = make_pool(subjects=4, slices=5, size=32)
    mask, is_mask = _masks(test_config, pool, MVGSettings(segmentation_mask_ratio=ratio))
    n = mask.shape[1]  # the 32 x 32 slices in 8-pixel patches: an 8 x 4 canvas grid
    assert is_mask.any() and (mask[is_mask].sum(dim=1) == round(ratio * n)).all()
    default, same = _masks(test_config, pool, MVGSettings())
    assert torch.equal(same, is_mask) and torch.equal(default[is_mask], ar_mask(int(is_mask.sum()), (8, 4)))
    assert torch.equal(default[~is_mask], mask[~is_mask])  # the image tasks' masks do not change


@pytest.mark.parametrize("ratio", [0.0, 1.0, 1.5, True])
def test_segmentation_mask_ratio_outside_the_open_interval_names_the_setting(ratio):
    with pytest.raises(ValueError, match="segmentation_mask_ratio"):
        MVGSettings(segmentation_mask_ratio=ratio)


def test_the_setting_defaults_to_ar_and_is_read_from_the_run(test_config):
    run = by_name(catalogue(test_config, n_train=4), "mvg")
    assert MVGSettings.of(run).segmentation_mask_ratio is None
    mim = type(run).from_dict({**run.to_dict(), "settings": {**run.settings, "segmentation_mask_ratio": 0.75}})
    assert MVGSettings.of(mim).segmentation_mask_ratio == 0.75
