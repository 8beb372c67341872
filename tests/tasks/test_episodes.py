"""Context sampling (supplement G): task weights, dataset mix, subjects, slices and modalities."""

from collections import Counter

import numpy as np
import pytest

from neuroicl.tasks.catalog import build_tasks
from neuroicl.tasks.episodes import ContextSettings, EpisodeSampler, stable_seed

ALL = list(build_tasks())


def _sampler(pools, weights=None, **context):
    weights = weights or {name: 1.0 for name in ALL}
    return EpisodeSampler(pools, build_tasks(), weights, ContextSettings(**context))


@pytest.mark.parametrize("task", ALL)
def test_target_subject_never_appears_in_its_context(make_pool, task):
    pool = make_pool(subjects=4)
    sampler = _sampler([pool])
    rng = np.random.default_rng(0)
    for _ in range(100):
        episode = sampler.episode(rng, task, 8)  # more items than other subjects: drawn with replacement
        subjects = pool.subject[episode.rows]
        assert subjects[0] not in subjects[1:]


def test_context_subjects_are_distinct_while_there_are_enough(make_pool):
    pool = make_pool(subjects=6)
    episode = _sampler([pool]).episode(np.random.default_rng(0), "denoising", 5)
    assert len(set(pool.subject[episode.rows])) == 6


def test_context_slices_lie_within_the_window(make_pool):
    pool = make_pool(slices=5)
    sampler = _sampler([pool], slice_window=1)
    rng = np.random.default_rng(1)
    for _ in range(100):
        episode = sampler.episode(rng, "super_resolution", 4)
        assert np.abs(pool.slice[episode.rows[1:]] - pool.slice[episode.rows[0]]).max() <= 1


def test_tasks_are_drawn_with_the_table_7_weights(make_pool, task_config):
    sampler = _sampler([make_pool()], task_config["weights"])
    rng = np.random.default_rng(2)
    counts = Counter(e.task for _ in range(200) for e in sampler.sample(rng, 20, context_size=1))
    total = sum(task_config["weights"].values())
    for task, weight in task_config["weights"].items():
        assert counts[task] / 4000 == pytest.approx(weight / total, abs=0.02)


def test_zero_weight_tasks_are_never_drawn(make_pool):
    sampler = _sampler([make_pool()], {"segmentation": 1.0, "denoising": 0.0})
    rng = np.random.default_rng(3)
    assert {e.task for e in sampler.sample(rng, 200, context_size=1)} == {"segmentation"}


def test_batch_shares_one_context_size_from_the_range(make_pool):
    sampler = _sampler([make_pool()], size=(2, 5))
    rng = np.random.default_rng(4)
    sizes = set()
    for _ in range(50):
        batch = sampler.sample(rng, 4)
        assert len({e.context_size for e in batch}) == 1
        sizes.add(batch[0].context_size)
    assert sizes == {2, 3, 4, 5}


@pytest.mark.parametrize("task", ["segmentation", "modality_transfer"])
def test_segmentation_and_transfer_contexts_use_the_target_modalities(make_pool, task):
    sampler = _sampler([make_pool()])
    rng = np.random.default_rng(5)
    for _ in range(50):
        e = sampler.episode(rng, task, 4)
        assert (e.inputs == e.inputs[0]).all() and (e.target_modality == e.target_modality[0]).all()


def test_other_tasks_draw_modalities_per_item(make_pool):
    sampler = _sampler([make_pool()])
    rng = np.random.default_rng(6)
    episodes = [sampler.episode(rng, "denoising", 4) for _ in range(50)]
    assert any(not (e.inputs == e.inputs[0]).all() for e in episodes)
    counts = Counter(int((row >= 0).sum()) for e in episodes for row in e.inputs)
    assert set(counts) == {1, 2, 3}


def test_modality_transfer_target_is_never_an_input(make_pool):
    sampler = _sampler([make_pool()])
    rng = np.random.default_rng(7)
    for _ in range(100):
        e = sampler.episode(rng, "modality_transfer", 2)
        assert all(t not in row for t, row in zip(e.target_modality, e.inputs, strict=True))


def test_dataset_mix_follows_the_three_modes(make_pool):
    pools = [make_pool(name=n) for n in ("a", "b", "c")]
    sampler = _sampler(pools, dataset_mix=(1 / 3, 1 / 3, 1 / 3))
    rng = np.random.default_rng(8)
    modes = Counter()
    for _ in range(600):
        e = sampler.episode(rng, "denoising", 6)
        context = set(e.pools[1:].tolist())
        modes["same"] += context == {e.pools[0]}
        modes["other"] += e.pools[0] not in context
    # "same" also arises by chance under "random" ((1/3)^6); "other" under "random" with (2/3)^6 ≈ 0.09
    assert modes["same"] / 600 == pytest.approx(1 / 3, abs=0.06)
    assert modes["other"] / 600 == pytest.approx(1 / 3 + 1 / 3 * (2 / 3) ** 6, abs=0.06)


def test_only_other_datasets_when_asked(make_pool):
    pools = [make_pool(name=n) for n in ("a", "b")]
    sampler = _sampler(pools, dataset_mix=(0.0, 0.0, 1.0))
    rng = np.random.default_rng(9)
    for _ in range(50):
        e = sampler.episode(rng, "denoising", 4)
        assert e.pools[0] not in e.pools[1:]


def test_with_one_dataset_every_mode_degenerates_to_it(make_pool):
    sampler = _sampler([make_pool()], dataset_mix=(0.0, 0.0, 1.0))
    e = sampler.episode(np.random.default_rng(10), "denoising", 4)
    assert (e.pools == 0).all()


def test_tasks_needing_labels_use_only_labelled_datasets(make_pool):
    pools = [make_pool(name="plain", labels=False), make_pool(name="labelled")]
    sampler = _sampler(pools)
    rng = np.random.default_rng(11)
    for _ in range(50):
        assert (sampler.episode(rng, "segmentation", 3).pools == 1).all()
    with pytest.raises(ValueError, match="task 'segmentation': no dataset among \\['plain'\\]"):
        _sampler([pools[0]]).episode(rng, "segmentation", 3)


def test_plans_are_deterministic_by_seed(make_pool):
    sampler = _sampler([make_pool()])
    one = sampler.sample(np.random.default_rng(12), 8)
    two = sampler.sample(np.random.default_rng(12), 8)
    pairs = zip(one, two, strict=True)
    assert all(a.task == b.task and (a.rows == b.rows).all() and (a.inputs == b.inputs).all() for a, b in pairs)


def test_truncated_context_is_a_prefix(make_pool):
    e = _sampler([make_pool()]).episode(np.random.default_rng(13), "denoising", 8)
    short = e.truncated(3)
    assert short.context_size == 3 and (short.rows == e.rows[:4]).all() and short.task == e.task


def test_stable_seed_depends_on_every_part_and_nothing_else():
    seed = stable_seed("embedded", "sub-001", "segmentation", 0)
    assert seed == stable_seed("embedded", "sub-001", "segmentation", 0)
    others = {
        stable_seed("embedded", "sub-002", "segmentation", 0),
        stable_seed("embedded", "sub-001", "motion", 0),
        stable_seed("embedded", "sub-001", "segmentation", 1),
    }
    assert seed not in others and len(others) == 3
    assert 0 <= seed < 2**63


def test_evaluation_targets_take_context_from_the_training_pool_only(make_pool):
    train, test = make_pool(name="d", subjects=3), make_pool(name="d", subjects=2)
    test = type(test)(**{**test.__dict__, "subjects": ["sub-100", "sub-101"]})
    sampler = _sampler([train, test])
    rng = np.random.default_rng(14)
    for row in range(len(test)):
        e = sampler.episode(rng, "segmentation", 6, target=(1, row), context_pools=[0])
        assert e.pools[0] == 1 and (e.pools[1:] == 0).all()


def test_a_subject_in_two_pools_of_one_dataset_is_still_excluded(make_pool):
    sampler = _sampler([make_pool(name="d", subjects=3), make_pool(name="d", subjects=3)])
    rng = np.random.default_rng(15)
    for _ in range(50):
        e = sampler.episode(rng, "denoising", 4, target=(1, 0), context_pools=[0])
        assert 0 not in e.rows[1:] // 5  # subject 0 of pool 0 has the same id as the target's subject
