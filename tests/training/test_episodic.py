"""The episode trainer's setup: the class hold-out of in-context models, the context cap of a run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuroicl.plan.runs import Run, by_name, catalogue
from neuroicl.tasks.synthesize import synthesize
from neuroicl.training.episodic import held_out_classes, task_setup

SEG = Run("seg", "neuralizer", "Neuralizer-seen", ("segmentation",), {"segmentation": 1.0, "masking": 1.0},
          groups=())


def test_in_context_runs_hold_out_every_evaluation_class_of_both_hemispheres(test_config):
    test_config["training"]["class_holdout"] = True
    runs = catalogue(test_config, n_train=2)
    ids = sorted({i for ids in test_config["evaluation"]["labels"].values() for i in ids})
    assert held_out_classes(by_name(runs, "neuralizer-seen"), test_config) == tuple(ids)
    assert held_out_classes(by_name(runs, "universeg-skull_stripping"), test_config) == tuple(ids)
    assert held_out_classes(by_name(runs, "unet-segmentation-all"), test_config) == ()  # trained on the cases
    test_config["training"]["class_holdout"] = False
    assert held_out_classes(by_name(runs, "neuralizer-seen"), test_config) == ()


def _targets(setup, pools, n=64):
    rng = np.random.default_rng(0)
    episodes = setup.sampler.sample(rng, n)
    batch = synthesize(pools, episodes, setup.tasks, setup.tree, torch.Generator().manual_seed(0), setup.flip_dim)
    return episodes, batch


@pytest.mark.parametrize("holdout", [(3, 4), ()])
def test_no_held_out_class_ever_appears_in_a_training_mask(make_pool, task_config, holdout):
    """Held out (3, 4): no segmentation or masking target joins them, and no target pixel covers them;
    without the hold-out they do (so the check can fail)."""
    pool = make_pool(subjects=4)  # classes 3, 4, 5, 6, 27
    setup = task_setup(SEG, task_config, [pool], "coronal", holdout)
    episodes, batch = _targets(setup, [pool])
    chosen = {c for episode in episodes for c in episode.choice}
    labels = pool.labels[torch.as_tensor([e.rows[0] for e in episodes])]
    held = torch.isin(labels, torch.tensor(list((3, 4))))
    segmentation = torch.tensor([e.task == "segmentation" for e in episodes])
    covered = (batch.target_out[:, 0] > 0.5) & held & segmentation[:, None, None]
    if holdout:
        assert not chosen & set(holdout) and not covered.any()
    else:
        assert chosen & {3, 4} and covered.any()


def test_a_run_with_a_context_cap_trains_on_at_most_that_many_pairs(make_pool, task_config):
    pool = make_pool(subjects=4)
    setup = task_setup(Run("one", "toy", "Toy", ("denoising",), {"denoising": 1.0}, max_context=1), task_config,
                       [pool], "coronal")
    assert setup.sampler.context.size == (1, 1)


def test_a_run_may_set_its_own_learning_rate(test_config):
    """UniverSeg's block sets its peak lr over training.optimizer.lr; other keys are refused."""
    from neuroicl.training.episodic import settings_for

    test_config["training"]["runs"]["universeg"]["lr"] = 5e-4
    runs = catalogue(test_config, n_train=2)
    universeg = by_name(runs, "universeg-skull_stripping")
    assert settings_for(universeg, test_config["training"]).lr == 5e-4
    assert settings_for(by_name(runs, "neuralizer-seen"), test_config["training"]).lr == \
        test_config["training"]["optimizer"]["lr"]
    bad = Run.from_dict({**universeg.to_dict(), "settings": {"momentum": 0.9}})
    with pytest.raises(ValueError, match="unknown settings.*lr"):
        settings_for(bad, test_config["training"])
