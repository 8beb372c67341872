"""The composition tree (supplement C.2) and the augmentations applied through synthesis."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from neuroicl.tasks.augment import AUGMENTATIONS, AugmentationTree
from neuroicl.tasks.catalog import build_tasks
from neuroicl.tasks.episodes import ContextSettings, Episode, EpisodeSampler
from neuroicl.tasks.synthesize import synthesize

LEAVES = {
    "mask": ["mask_contour", "mask_dilation", "mask_invert"],
    "intensity": ["sobel_filter", "intensity_mapping", "synthetic_modality"],
    "channel": ["permute_channels", "duplicate_channels"],
    "spatial": ["random_affine", "random_elastic", "random_flip"],
}


def _tree(**groups):
    return AugmentationTree.from_config({"tree": groups, "settings": {}})


def _only(name, p=1.0):
    """A tree that always applies exactly ``name``."""
    group = AUGMENTATIONS[name].group
    return _tree(**{group: {"op": name, "p": p}})


def _episodes(pool, task, tree, n=3, context_size=3, seed=0):
    tasks = build_tasks()
    sampler = EpisodeSampler([pool], tasks, {task: 1.0}, ContextSettings(slice_window=1), tree)
    rng = np.random.default_rng(seed)
    return tasks, [sampler.episode(rng, task, context_size) for _ in range(n)]


def _run(pool, task, tree, seed=0, **kwargs):
    tasks, episodes = _episodes(pool, task, tree, seed=seed, **kwargs)
    with_tree = synthesize([pool], episodes, tasks, tree, torch.Generator().manual_seed(seed))
    plain = synthesize([pool], episodes, tasks, None, torch.Generator().manual_seed(seed))
    return episodes, with_tree, plain


def test_all_eight_augmentations_and_three_data_augmentations_exist():
    assert sorted(AUGMENTATIONS) == sorted(sum(LEAVES.values(), []))
    for group, names in LEAVES.items():
        assert all(AUGMENTATIONS[name].group == group for name in names)


def test_default_tree_parses_with_every_leaf(task_config):
    tree = AugmentationTree.from_config(task_config["augmentations"])
    assert sorted(tree.order()) == sorted(AUGMENTATIONS)
    assert tree.order()[:3] == LEAVES["mask"]  # groups in the order mask, intensity, channel, spatial


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"op": "sobel"}, "'sobel' is not compose, one_of"),
        ({"op": "random_flip"}, "belongs to group 'spatial'"),
        ({"op": "compose", "children": []}, "needs children"),
        ({"op": "sobel_filter", "p": 1.5}, "intensity.p"),
        ({"op": "compose", "children": [{"op": "sobel_filter"}, {"op": "sobel_filter"}]}, "once"),
    ],
)
def test_bad_tree_is_an_error_naming_the_node(node, message):
    with pytest.raises(ValueError, match=message):
        _tree(intensity=node)


def test_one_of_applies_exactly_one_child_and_compose_all(make_pool):
    tree = _tree(
        intensity={"op": "one_of", "children": [{"op": n} for n in LEAVES["intensity"]]},
        channel={"op": "compose", "children": [{"op": n} for n in LEAVES["channel"]]},
    )
    task = build_tasks()["segmentation"]
    rng = np.random.default_rng(0)
    plans = [tree.sample_plan(task, True, set(), rng) for _ in range(300)]
    for plan in plans:
        assert sum(leaf in plan for leaf in LEAVES["intensity"]) == 1
        assert plan[-2:] == ("permute_channels", "duplicate_channels")
    counts = [sum(leaf in plan for plan in plans) for leaf in LEAVES["intensity"]]
    assert min(counts) > 70  # uniform over three children: 100 each


def test_node_probability_is_respected(make_pool):
    tree = _tree(spatial={"op": "random_affine", "p": 0.25})
    task = build_tasks()["denoising"]
    rng = np.random.default_rng(1)
    share = np.mean([bool(tree.sample_plan(task, True, set(), rng)) for _ in range(2000)])
    assert share == pytest.approx(0.25, abs=0.03)


def test_omitted_and_inapplicable_augmentations_are_never_drawn(task_config):
    tree = AugmentationTree.from_config(task_config["augmentations"])
    tasks = build_tasks()
    rng = np.random.default_rng(2)
    for _ in range(300):
        assert "random_flip" not in tree.sample_plan(tasks["segmentation"], True, {"random_flip"}, rng)
        plan = tree.sample_plan(tasks["denoising"], True, set(), rng)
        assert not set(plan) & set(LEAVES["mask"])  # denoising has no mask output
        assert "synthetic_modality" not in tree.sample_plan(tasks["skull_stripping"], False, set(), rng)


def test_mask_invert_inverts_target_and_every_context_output(make_pool):
    _, augmented, plain = _run(make_pool(), "segmentation", _only("mask_invert"))
    assert torch.equal(augmented.target_out, 1 - plain.target_out)
    assert torch.equal(augmented.context_out, 1 - plain.context_out)
    assert torch.equal(augmented.target_in, plain.target_in)


def test_mask_contour_is_three_pixels_wide(make_pool):
    _, augmented, plain = _run(make_pool(), "skull_stripping", _only("mask_contour"))
    row = augmented.target_out[0, 0, 16]  # a row through the round brain: two crossings of 3 px
    assert row.sum() == 6 and (augmented.target_out <= plain.target_out + (plain.target_out == 0).float()).all()


def test_intensity_augmentation_reaches_the_clean_target_of_aligned_tasks(make_pool):
    _, augmented, plain = _run(make_pool(), "denoising", _only("sobel_filter"))
    assert not torch.allclose(augmented.target_out, plain.target_out)
    _, augmented, plain = _run(make_pool(), "modality_transfer", _only("intensity_mapping"))
    assert torch.equal(augmented.target_out, plain.target_out)  # a separate target is left alone
    assert not torch.equal(augmented.target_in, plain.target_in)


def test_permutation_is_the_same_for_target_and_context(make_pool):
    # segmentation shares modalities across items: channel c holds the same modality everywhere
    _, augmented, _ = _run(make_pool(), "segmentation", _only("permute_channels"), seed=3)
    level = augmented.target_in[:, :, 16, 16]  # [B, 3]: brain value identifies the modality
    for item in range(3):
        assert torch.allclose(augmented.context_in[:, item, :, 16, 16], level)


def test_permutation_moves_aligned_outputs_with_their_inputs(make_pool):
    pool = make_pool()
    tasks = build_tasks()
    inputs = np.array([[0, -1, -1], [1, -1, -1]])  # one modality per item
    episode = Episode("denoising", np.zeros(2, int), np.array([0, 5]), inputs, np.array([-1, -1]))
    tree = _only("permute_channels")
    plain = synthesize([pool], [episode], tasks, None, torch.Generator().manual_seed(0))
    for seed in range(5):
        permuted = replace(episode, augmentations=("permute_channels",))
        moved = synthesize([pool], [permuted], tasks, tree, torch.Generator().manual_seed(seed))
        channel = int(moved.active[0].nonzero())
        assert moved.active.sum() == 1
        assert moved.target_out[0, channel].abs().sum() == pytest.approx(plain.target_out[0, 0].abs().sum().item())


def test_duplicate_channels_fills_empty_channels_with_used_ones(make_pool):
    tree = AugmentationTree.from_config(
        {"tree": {"channel": {"op": "duplicate_channels"}}, "settings": {"duplicate_channels": {"p": 1.0}}}
    )
    _, augmented, plain = _run(make_pool(), "segmentation", tree)
    filled = augmented.target_in.flatten(2).abs().amax(2) > 0
    assert filled.all()
    for b in range(3):
        used = plain.target_in[b].flatten(1).abs().amax(1) > 0
        for c in range(3):
            assert any(torch.equal(augmented.target_in[b, c], plain.target_in[b, u]) for u in used.nonzero().flatten())


def test_flip_mirrors_input_and_output_of_every_item(make_pool):
    _, augmented, plain = _run(make_pool(), "skull_stripping", _only("random_flip"))
    assert torch.equal(augmented.target_in, plain.target_in.flip(2))
    assert torch.equal(augmented.context_out, plain.context_out.flip(3))


def test_spatial_augmentation_keeps_mask_outputs_binary(make_pool):
    tree = _tree(spatial={"op": "compose", "children": [{"op": "random_affine"}, {"op": "random_elastic"}]})
    _, augmented, plain = _run(make_pool(), "skull_stripping", tree)
    assert set(augmented.target_out.unique().tolist()) <= {0.0, 1.0}
    assert not torch.equal(augmented.target_out, plain.target_out)


def test_synthetic_modality_keeps_the_skull_of_head_images(make_pool):
    pool = make_pool()
    _, augmented, plain = _run(pool, "skull_stripping", _only("synthetic_modality"))
    outside = ~pool.brain[0]
    assert torch.equal(augmented.target_in[:, :, outside], plain.target_in[:, :, outside])
    assert not torch.equal(augmented.target_in, plain.target_in)
