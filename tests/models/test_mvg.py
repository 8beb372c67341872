"""MVG: masks, masked loss, colours, prompt selection, the two-stream ViT and its predictor interface."""

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from neuroicl.models.losses import objective_for
from neuroicl.models.mvg import MVG, MVGConfig, default_taps, make_canvas, param_groups, query_half
from neuroicl.models.mvg_masks import (
    PALETTE,
    ar_mask,
    choose_colours,
    colour_pair,
    colourise,
    decode_colour,
    masked_smooth_l1,
    paint_blocks,
    patch_to_pixel,
    prompt_index,
    sample_block_mask,
    sample_blocks,
    sample_colours,
    sample_task_mask,
)

TINY = {"image_size": 16, "patch_size": 4, "embed_dim": 32, "depth": 4, "heads": 2, "decoder_channels": 8}
GRID = (8, 4)  # the tiny canvas: 32 x 16 pixels in 4 x 4 patches


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _model(seed: int = 0, **overrides) -> MVG:
    return MVG(MVGConfig(**{**TINY, **overrides}), generator=_gen(seed))


def _canvases(seed: int = 0, b: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    g = _gen(seed)
    return torch.rand(b, 3, 32, 16, generator=g), torch.rand(b, 3, 32, 16, generator=g)


def _binary(seed: int, shape: tuple[int, ...]) -> torch.Tensor:
    """Binary masks replicated on 3 channels, ``[B, 3, H, W]``."""
    mask = (torch.rand(shape[0], 1, *shape[2:], generator=_gen(seed)) > 0.5).float()
    return mask.expand(shape).clone()


# ---- masks ----------------------------------------------------------------------------------------------


def test_ar_mask_masks_exactly_the_query_half():
    mask = ar_mask(3, GRID).reshape(3, *GRID)
    assert mask[:, 4:].all() and not mask[:, :4].any()


@pytest.mark.parametrize("ratio", [0.0, 0.25, 0.5, 0.75, 1.0])
def test_block_mask_hides_exactly_the_ratio(ratio):
    mask = sample_block_mask(4, (16, 8), ratio, _gen())
    assert mask.shape == (4, 128)
    assert (mask.sum(dim=1) == round(ratio * 128)).all()


def test_block_mask_is_the_union_of_its_rectangles():
    blocks = sample_blocks((16, 8), 64, _gen(3))
    expected = torch.zeros(16, 8, dtype=torch.bool)
    for top, left, h, w in blocks:
        assert 0 <= top and top + h <= 16 and 0 <= left and left + w <= 8
        expected[top : top + h, left : left + w] = True
    assert torch.equal(paint_blocks((16, 8), blocks), expected.flatten())
    assert torch.equal(sample_block_mask(1, (16, 8), 0.5, _gen(3))[0], expected.flatten())


def test_block_mask_is_mostly_blocks_not_scattered_patches():
    """Single-patch rectangles (the exact-count top-up) cover under a tenth of the masked patches."""
    g = _gen(1)
    singles = sum(h * w == 1 for _ in range(20) for _, _, h, w in sample_blocks((16, 8), 64, g))
    assert singles < 0.1 * 20 * 64


def test_task_mask_is_always_ar_for_segmentation():
    mask = sample_task_mask(4, GRID, half_mask_ratio=0.0, ratio=0.5, generator=_gen(), always_ar=True)
    assert torch.equal(mask, ar_mask(4, GRID))


def test_task_mask_forces_ar_per_sample():
    always = torch.tensor([True, False, True, False])
    mask = sample_task_mask(4, GRID, half_mask_ratio=0.0, ratio=0.25, generator=_gen(), always_ar=always)
    assert torch.equal(mask[always], ar_mask(2, GRID))
    assert (mask[~always].sum(dim=1) == 8).all()


def test_task_mask_half_mask_ratio_picks_ar_or_blocks():
    assert torch.equal(sample_task_mask(3, GRID, 1.0, 0.25, _gen()), ar_mask(3, GRID))
    assert (sample_task_mask(3, GRID, 0.0, 0.25, _gen()).sum(dim=1) == 8).all()


def test_mask_samplers_are_deterministic_and_leave_the_global_rng_alone():
    state = torch.get_rng_state()
    first = sample_task_mask(6, (16, 8), 0.3, 0.5, _gen(7))
    assert torch.equal(first, sample_task_mask(6, (16, 8), 0.3, 0.5, _gen(7)))
    assert not torch.equal(first, sample_task_mask(6, (16, 8), 0.3, 0.5, _gen(8)))
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize(("kwargs", "name"), [({"ratio": 1.5}, "ratio"), ({"grid": (7, 4)}, "gh")])
def test_block_mask_rejects_bad_input(kwargs, name):
    args = {"b": 1, "grid": GRID, "ratio": 0.5, "generator": _gen(), **kwargs}
    with pytest.raises(ValueError, match=name):
        sample_block_mask(**args)


# ---- loss -----------------------------------------------------------------------------------------------


def test_loss_ignores_unmasked_pixels():
    pred, label = _canvases()
    mask = ar_mask(2, GRID)
    changed = pred.clone()
    changed[:, :, :16] += 1.0  # the prompt half: unmasked
    assert torch.equal(masked_smooth_l1(pred, label, mask, 4), masked_smooth_l1(changed, label, mask, 4))


def test_loss_sees_a_masked_pixel():
    pred, label = _canvases()
    mask = ar_mask(2, GRID)
    changed = pred.clone()
    changed[0, 1, 20, 3] += 1.0
    before, after = masked_smooth_l1(pred, label, mask, 4), masked_smooth_l1(changed, label, mask, 4)
    assert after[0] > before[0] and after[1] == before[1]


def test_loss_is_the_mean_smooth_l1_over_masked_pixels():
    pred, label = _canvases()
    mask = sample_block_mask(2, GRID, 0.5, _gen())
    pixels = patch_to_pixel(mask, GRID, 4).expand_as(pred)
    elementwise = F.smooth_l1_loss(pred, label, reduction="none", beta=0.01)
    expected = torch.stack([elementwise[i][pixels[i]].mean() for i in range(2)])
    assert torch.allclose(masked_smooth_l1(pred, label, mask, 4), expected)


def test_background_weighting_scales_background_pixels():
    pred, _ = _canvases()
    label = torch.zeros_like(pred)
    label[:, :, 16:24] = 1.0  # foreground: the top half of the query; background: the rest
    mask = ar_mask(2, GRID)
    error = F.smooth_l1_loss(pred, label, reduction="none", beta=0.01)[:, :, 16:]  # B C H W of the query
    fg, bg = error[:, :, :8].flatten(1).sum(1), error[:, :, 8:].flatten(1).sum(1)
    expected = (fg + 0.1 * bg) / (error[:, :, :8][0].numel() * 1.1)
    assert torch.allclose(masked_smooth_l1(pred, label, mask, 4, background_weight=0.1), expected)
    assert torch.allclose(
        masked_smooth_l1(pred, label, mask, 4, background_weight=1.0), masked_smooth_l1(pred, label, mask, 4)
    )


def test_background_weight_can_differ_per_sample():
    pred, _ = _canvases()
    label = torch.zeros_like(pred)
    mask = ar_mask(2, GRID)
    per_sample = masked_smooth_l1(pred, label, mask, 4, background_weight=torch.tensor([0.1, 1.0]))
    assert torch.allclose(per_sample, masked_smooth_l1(pred, label, mask, 4))  # all background: weights cancel
    label[:, :, 16:24] = 1.0
    per_sample = masked_smooth_l1(pred, label, mask, 4, background_weight=torch.tensor([0.1, 1.0]))
    assert per_sample[0] == masked_smooth_l1(pred, label, mask, 4, background_weight=0.1)[0]
    assert per_sample[1] == masked_smooth_l1(pred, label, mask, 4)[1]


# ---- colours --------------------------------------------------------------------------------------------


def test_prompt_and_query_share_the_colour():
    prompt, query = _binary(0, (2, 3, 16, 16)), _binary(1, (2, 3, 16, 16))
    coloured_prompt, coloured_query, colours = colour_pair(prompt, query, "random", _gen())
    for i in range(2):
        fg_prompt = coloured_prompt[i][:, prompt[i, 0] > 0]
        fg_query = coloured_query[i][:, query[i, 0] > 0]
        assert torch.equal(fg_prompt.unique(dim=1).flatten(), colours[i])
        assert torch.equal(fg_query.unique(dim=1).flatten(), colours[i])


def test_colour_never_depends_on_the_query_label():
    prompt = _binary(0, (2, 3, 16, 16))
    first = colour_pair(prompt, _binary(1, (2, 3, 16, 16)), "random", _gen(5))
    second = colour_pair(prompt, torch.zeros(2, 3, 16, 16), "random", _gen(5))
    assert torch.equal(first[2], second[2]) and torch.equal(first[0], second[0])


def test_decode_colour_inverts_colourise():
    mask = _binary(2, (4, 3, 16, 16))
    colours = sample_colours(4, _gen())
    assert torch.allclose(decode_colour(colourise(mask, colours), colours), mask)


def test_decode_colour_picks_the_nearer_of_black_and_the_colour():
    g = _gen(6)
    colours, pred = sample_colours(4, g), torch.rand(4, 3, 8, 8, generator=g)
    c = colours[:, :, None, None]
    nearer_colour = (pred - c).square().sum(dim=1) < pred.square().sum(dim=1)  # B H W
    assert torch.equal(decode_colour(pred, colours)[:, 0] > 0.5, nearer_colour)


def test_binary_mode_is_the_mask_itself():
    mask = _binary(3, (2, 3, 8, 8))
    assert torch.equal(colourise(mask, choose_colours("binary", 2)), mask)


def test_predefined_mode_uses_the_palette():
    assert torch.equal(choose_colours("predefined", 2), torch.tensor([PALETTE[0]] * 2))
    assert torch.equal(
        choose_colours("predefined", 2, index=torch.tensor([3, 1])), torch.tensor([PALETTE[3], PALETTE[1]])
    )


def test_random_colours_are_far_from_black_and_leave_the_global_rng_alone():
    state = torch.get_rng_state()
    colours = sample_colours(1000, _gen(4))
    assert torch.equal(colours, sample_colours(1000, _gen(4)))
    assert (colours.amax(dim=1) >= 0.5).all() and (colours <= 1).all() and (colours >= 0).all()
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize(("kwargs", "match"), [({"mode": "rainbow"}, "colour mode"), ({"mode": "random"}, "generator")])
def test_choose_colours_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        choose_colours(b=2, **kwargs)


# ---- prompt selection -----------------------------------------------------------------------------------


def test_prompt_index_follows_the_formula():
    assert [prompt_index(n, 4, 8) for n in range(4)] == [0, 2, 4, 6]
    assert [prompt_index(n, 10, 3) for n in range(10)] == [n * 3 // 10 for n in range(10)]
    assert prompt_index(9, 10, 3) == 2  # the last test slice stays inside the training volume


@pytest.mark.parametrize(("args", "name"), [((4, 4, 8), "n must"), ((-1, 4, 8), "n must"), ((0, 0, 8), "n_test")])
def test_prompt_index_rejects_bad_input(args, name):
    with pytest.raises(ValueError, match=name):
        prompt_index(*args)


# ---- the network ----------------------------------------------------------------------------------------


def test_forward_predicts_the_label_canvas():
    image, label = _canvases()
    assert _model()(image, label, ar_mask(2, GRID)).shape == (2, 3, 32, 16)


def test_encode_returns_one_feature_map_per_tap():
    image, label = _canvases()
    features = _model(tap_indices=(1, 3)).encode(image, label, ar_mask(2, GRID))
    assert [f.shape for f in features] == [(2, 32, 32)] * 2


def test_default_taps_are_four_evenly_spaced_blocks():
    assert default_taps(24) == (5, 11, 17, 23) == MVGConfig.paper().taps
    assert MVGConfig(**TINY).taps == (0, 1, 2, 3)
    assert default_taps(2) == (0, 1)


@pytest.mark.parametrize("merge_index", [0, 4])
def test_merge_at_either_end_works(merge_index):
    image, label = _canvases()
    assert _model(merge_index=merge_index)(image, label, ar_mask(2, GRID)).shape == (2, 3, 32, 16)


def test_masked_label_patches_are_not_read():
    image, label = _canvases()
    model, mask = _model(merge_index=2), ar_mask(2, GRID)
    changed = label.clone()
    changed[:, :, 16:] = 0.5
    assert torch.equal(model(image, label, mask), model(image, changed, mask))
    changed[:, :, 0, 0] = 0.5  # an unmasked prompt label pixel
    assert not torch.allclose(model(image, label, mask), model(image, changed, mask))


def test_the_two_streams_use_the_same_blocks():
    """Swapping the canvases swaps only the segment embeddings and the masking: no per-stream weights."""
    image, label = _canvases()
    model, mask = _model(merge_index=4), torch.zeros(2, 32, dtype=torch.bool)
    swapped = model(label, image, mask)
    with torch.no_grad():
        model.segment_embed.copy_(model.segment_embed.flip(0))
    assert torch.allclose(model(image, label, mask), swapped, atol=1e-6)


def test_same_seed_same_weights_and_outputs_global_rng_untouched():
    state = torch.get_rng_state()
    first, second = _model(seed=3), _model(seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    image, label = _canvases()
    assert torch.equal(first(image, label, ar_mask(2, GRID)), second(image, label, ar_mask(2, GRID)))
    assert not torch.equal(first.pos_embed, _model(seed=4).pos_embed)


def test_relative_logits_follow_the_decomposed_formula():
    """logit(i, j) gains q_i . R_h[i_h - j_h + gh - 1] + q_i . R_w[i_w - j_w + gw - 1] (MViTv2, as the reference)."""
    attn = _model().blocks[0].attn
    with torch.no_grad():
        attn.rel_pos_h.copy_(torch.randn(attn.rel_pos_h.shape, generator=_gen(1)))
        attn.rel_pos_w.copy_(torch.randn(attn.rel_pos_w.shape, generator=_gen(2)))
        q = torch.randn(1, 2, 32, 16, generator=_gen(3))  # B heads N d
        logits = attn.relative_logits(q)
        gh, gw = GRID
        assert attn.rel_pos_h.shape == (2 * gh - 1, 16) and attn.rel_pos_w.shape == (2 * gw - 1, 16)
        for (ih, iw), (jh, jw) in [((0, 0), (7, 3)), ((5, 1), (2, 2)), ((3, 3), (3, 3))]:
            i, j = ih * gw + iw, jh * gw + jw
            expected = q[0, 1, i] @ (attn.rel_pos_h[ih - jh + gh - 1] + attn.rel_pos_w[iw - jw + gw - 1])
            assert logits[0, 1, i, j] == pytest.approx(float(expected), abs=1e-5)


def test_relative_positions_start_at_zero_and_learn():
    """Zero-initialised (the reference's rel_pos_zero_init): the first forward equals the model without them,
    and they receive a gradient."""
    image, label = _canvases()
    mask = ar_mask(2, GRID)
    with_rel, without = _model(seed=5), _model(seed=5, rel_pos=False)
    assert all(torch.equal(b.attn.rel_pos_h, torch.zeros_like(b.attn.rel_pos_h)) for b in with_rel.blocks)
    assert without.blocks[0].attn.rel_pos_h is None
    assert torch.allclose(with_rel(image, label, mask), without(image, label, mask), atol=1e-6)
    with_rel(image, label, mask).square().mean().backward()
    assert all(b.attn.rel_pos_h.grad.abs().sum() > 0 and b.attn.rel_pos_w.grad.abs().sum() > 0 for b in with_rel.blocks)


def test_forward_rejects_a_canvas_of_the_wrong_size():
    with pytest.raises(ValueError, match="image_canvas"):
        _model()(torch.rand(1, 3, 64, 32), torch.rand(1, 3, 64, 32), torch.zeros(1, 32, dtype=torch.bool))


@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        ({"merge_index": 5}, "merge_index"),
        ({"merge_index": -1}, "merge_index"),
        ({"tap_indices": (2, 1)}, "tap_indices"),
        ({"tap_indices": (4,)}, "tap_indices"),
        ({"tap_indices": ()}, "tap_indices"),
        ({"image_size": 18}, "image_size"),
        ({"heads": 3}, "embed_dim"),
        ({"mlp_ratio": 0.0}, "mlp_ratio"),
        ({"depth": 0}, "depth"),
        ({"decoder_channels": 0}, "decoder_channels"),
        ({"rel_pos": 1}, "rel_pos"),
    ],
)
def test_config_errors_name_the_parameter(overrides, name):
    with pytest.raises(ValueError, match=f"MVGConfig.{name}"):
        MVGConfig(**{**TINY, **overrides})


# ---- the predictor --------------------------------------------------------------------------------------


@pytest.mark.parametrize("l", [1, 3])
def test_predict_returns_the_query_in_unit_range(make_batch, l):
    target_in, context_in, context_out, _ = make_batch(b=2, l=l, size=16)
    out = _model().predict(target_in, context_in, context_out, objective_for("segmentation"))
    assert out.shape == (2, 3, 16, 16)
    assert out.min() >= 0 and out.max() <= 1


def test_predict_averages_single_pair_predictions(make_batch):
    target_in, context_in, context_out, _ = make_batch(b=2, l=3, size=16)
    model, objective = _model(), objective_for("reconstruction")
    singles = [
        model.predict(target_in, context_in[:, j : j + 1], context_out[:, j : j + 1], objective) for j in range(3)
    ]
    together = model.predict(target_in, context_in, context_out, objective)
    assert torch.allclose(together, torch.stack(singles).mean(dim=0), atol=1e-6)


def test_canvas_helpers_stack_prompt_over_query():
    top, bottom = torch.rand(2, 3, 4, 5), torch.rand(2, 3, 4, 5)
    canvas = make_canvas(top, bottom)
    assert canvas.shape == (2, 3, 8, 5) and torch.equal(query_half(canvas), bottom)


# ---- optimiser groups -----------------------------------------------------------------------------------


def test_param_groups_cover_every_parameter_once():
    model = _model()
    groups = param_groups(model, 1e-3, 0.05, 0.8)
    ids = [id(p) for group in groups for p in group["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())


def test_param_groups_skip_weight_decay_on_1d_and_embeddings():
    decay = {
        name: group["weight_decay"] for group in param_groups(_model(), 1e-3, 0.05, 0.8) for name in group["names"]
    }
    assert decay["pos_embed"] == decay["segment_embed"] == decay["mask_token"] == 0.0
    assert decay["blocks.0.norm1.weight"] == decay["decoder_embed.bias"] == 0.0
    assert decay["blocks.0.mlp.0.weight"] == decay["patch_embed.weight"] == decay["decoder_embed.weight"] == 0.05


def test_param_groups_decay_the_lr_by_depth():
    lr = {name: group["lr"] for group in param_groups(_model(), 1e-3, 0.05, 0.8) for name in group["names"]}
    assert lr["patch_embed.weight"] == pytest.approx(1e-3 * 0.8**5)  # depth 4: embeddings at 0
    assert lr["pos_embed"] == pytest.approx(1e-3 * 0.8**5)
    assert lr["blocks.0.mlp.0.weight"] == pytest.approx(1e-3 * 0.8**4)
    assert lr["blocks.3.mlp.0.weight"] == pytest.approx(1e-3 * 0.8)
    assert lr["decoder_pred.3.weight"] == lr["norm.weight"] == lr["mask_token"] == pytest.approx(1e-3)


@pytest.mark.parametrize("layer_decay", [0.0, 1.5])
def test_param_groups_reject_a_bad_layer_decay(layer_decay):
    with pytest.raises(ValueError, match="layer_decay"):
        param_groups(_model(), 1e-3, 0.05, layer_decay)


def test_predict_colours_mask_prompts_and_decodes_the_query():
    """A mask family (named by the model's own objective) is prompted in colour and decoded back to [0, 1]; with
    binary (white) colours the decoded query is the channel mean of the plain path; an image family is never
    coloured."""
    g = torch.Generator().manual_seed(0)
    target_in, context_in = torch.rand(2, 3, 16, 16, generator=g), torch.rand(2, 2, 3, 16, 16, generator=g)
    context_out = (torch.rand(2, 2, 1, 16, 16, generator=g) > 0.5).float().expand(-1, -1, 3, -1, -1)  # masks
    config = MVGConfig(image_size=16, patch_size=4, embed_dim=32, depth=4, heads=2, decoder_channels=8)
    model = MVG(config, generator=torch.Generator().manual_seed(1)).eval()
    seg = model.objective("segmentation")
    assert seg.family == "segmentation" and seg.loss == objective_for("segmentation").loss
    with torch.no_grad():
        coloured = model.predict(target_in, context_in, context_out, seg)
        plain = model.predict(target_in, context_in, context_out, objective_for("segmentation"))
        image = model.predict(target_in, context_in, context_out, model.objective("reconstruction"))
    assert coloured.shape == target_in.shape and coloured.min() >= 0 and coloured.max() <= 1
    assert not torch.allclose(coloured, plain) and torch.allclose(image, plain)
    binary = MVG(replace(config, colours="binary"), generator=torch.Generator().manual_seed(1)).eval()
    with torch.no_grad():
        decoded = binary.predict(target_in, context_in, context_out, binary.objective("segmentation"))
        plain = binary.predict(target_in, context_in, context_out, objective_for("segmentation"))
    assert torch.allclose(decoded, plain.mean(dim=1, keepdim=True).expand_as(plain), atol=1e-6)
