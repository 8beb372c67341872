"""MVG's task mask with the Table 5c ablation's block masks for the mask families (``forced_ratio``)."""

from __future__ import annotations

import pytest
import torch

from neuroicl.models.mvg_masks import ar_mask, sample_task_mask

GRID = (16, 8)  # 128 canvas patches


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_no_forced_ratio_draws_exactly_what_the_default_draws():
    forced = torch.tensor([True, False, True, False, False, True])
    default_gen, none_gen = _gen(3), _gen(3)
    default = sample_task_mask(6, GRID, 0.3, 0.5, default_gen, always_ar=forced)
    none = sample_task_mask(6, GRID, 0.3, 0.5, none_gen, always_ar=forced, forced_ratio=None)
    assert torch.equal(default, none) and torch.equal(default[forced], ar_mask(3, GRID))
    assert torch.equal(default_gen.get_state(), none_gen.get_state())  # nothing more drawn


@pytest.mark.parametrize("ratio", [0.5, 0.75])
def test_forced_samples_take_a_block_mask_of_exactly_the_ratio(ratio):
    forced = torch.tensor([True, False, True, True, False])
    mask = sample_task_mask(5, GRID, 0.0, 0.25, _gen(1), always_ar=forced, forced_ratio=ratio)
    assert (mask[forced].sum(dim=1) == round(ratio * 128)).all()
    assert not any(torch.equal(row, ar_mask(1, GRID)[0]) for row in mask[forced])
    assert (mask[forced][:, :64].any(dim=1)).all()  # blocks over the whole canvas, the prompt half too
    unforced = sample_task_mask(5, GRID, 0.0, 0.25, _gen(1), always_ar=forced)
    assert torch.equal(mask[~forced], unforced[~forced])  # the other samples' draws come first, unchanged
    assert (mask[~forced].sum(dim=1) == 32).all()


def test_forced_block_masks_are_deterministic_and_leave_the_global_rng_alone():
    state = torch.get_rng_state()
    first = sample_task_mask(4, GRID, 0.1, 0.5, _gen(7), always_ar=True, forced_ratio=0.75)
    assert torch.equal(first, sample_task_mask(4, GRID, 0.1, 0.5, _gen(7), always_ar=True, forced_ratio=0.75))
    assert not torch.equal(first, sample_task_mask(4, GRID, 0.1, 0.5, _gen(8), always_ar=True, forced_ratio=0.75))
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("ratio", [0.0, 1.0, 1.5, -0.5])
def test_forced_ratio_outside_the_open_interval_is_an_error(ratio):
    with pytest.raises(ValueError, match="forced_ratio"):
        sample_task_mask(2, GRID, 0.0, 0.5, _gen(), always_ar=True, forced_ratio=ratio)
