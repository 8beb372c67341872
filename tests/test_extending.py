"""A comparator added from outside the package (docs/extending.md): one model, one config block, one
catalogue entry and, because it does not train on episodes, one trainer. Nothing in training or
evaluation names it, yet it is trained, saved, scored and tabulated like every other run.

The toy stands for the three comparators still to come:

* it fits itself to each target's context at test time (MetaSeg): ``predict`` runs gradient steps,
  inside evaluation, which itself computes without autograd;
* it takes a single prompt pair (MVG): its runs have ``max_context = 1``;
* its training sees the unlabeled images of the test split (ISTN's target site): ``target_images``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from neuroicl.evaluation import metrics_table
from neuroicl.evaluation.job import evaluate_run
from neuroicl.models import factory
from neuroicl.models.base import Predictor, check_inputs
from neuroicl.models.losses import Objective
from neuroicl.models.model_file import save_networks
from neuroicl.paper.table4 import summarize
from neuroicl.plan import runs as catalogue_module
from neuroicl.plan.experiment import Plan
from neuroicl.plan.runs import Run, by_name, catalogue
from neuroicl.training import runner
from neuroicl.training.data import TrainingData
from tests.helpers.toy import toy_pool, toy_split, toy_store


@dataclass(frozen=True)
class ToyConfig:
    """Hyperparameters of the toy: gradient steps and step size of its test-time fit."""

    fit_steps: int = 20
    fit_lr: float = 0.5


class ToyFitter(nn.Module, Predictor):
    """``y = a·x + b``, ``a, b`` fitted per target to its one context pair at test time; ``target_mean`` is what
    its training takes from the (unlabeled) target images."""

    calls_with_grad = 0

    def __init__(self, config: ToyConfig = ToyConfig()) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("target_mean", torch.zeros(()))

    def predict(self, target_in: Tensor, context_in: Tensor, context_out: Tensor, objective: Objective) -> Tensor:
        check_inputs(target_in, context_in, context_out)
        assert context_in.shape[1] == 1, "a single-prompt model was given a larger context"
        x, y = context_in[:, 0].float(), context_out[:, 0].float()
        with torch.enable_grad():  # evaluation runs under no_grad; a test-time fit turns it back on
            ToyFitter.calls_with_grad += torch.is_grad_enabled()
            scale = torch.ones(len(x), 1, 1, 1, requires_grad=True)
            shift = torch.zeros(len(x), 1, 1, 1, requires_grad=True)
            optimiser = torch.optim.SGD([scale, shift], lr=self.config.fit_lr)
            for _ in range(self.config.fit_steps):
                optimiser.zero_grad()
                (scale * x + shift - y).square().mean().backward()
                optimiser.step()
        return (scale.detach() * target_in + shift.detach()).clamp(0, 1)


@dataclass
class Seen:
    """What the toy's trainer was given."""

    data: TrainingData | None = None


SEEN = Seen()


def toy_trainer(run: Run, config: dict[str, Any], data: TrainingData, checkpoint_root, stamp=None, progress=True,
                world=None) -> tuple[dict[str, nn.Module], list[dict[str, Any]], dict[str, Any]]:
    """A two-stage trainer in miniature: stage 1 reads the unlabeled target images (their mean brain
    intensity); stage 2, fitting to the labelled training pools, has nothing to learn in the toy."""
    SEEN.data = data
    model = ToyFitter(ToyConfig(**config["models"]["hyperparameters"][run.model]))
    model.target_mean.fill_(torch.cat([pool.images[:, 0][pool.brain].float() for pool in data.target_pools]).mean())
    return {"": model}, [{"label": "", "step": 1, "loss": 0.0}], {}


def toy_entry(config: dict[str, Any], n_train: int) -> list[Run]:
    """The toy's catalogue entry: one run per task of its ``training.runs.toy`` block."""
    block = config["training"]["runs"].get("toy")
    if block is None:
        return []
    return [Run(f"toy-{task}", "toy", "Toy", (task,), {task: 1.0}, max_context=1, target_images=True,
                trainer="toy_two_stage") for task in block["tasks"]]


@pytest.fixture
def toy(monkeypatch, test_config):
    """The toy registered (undone after the test) and a config with its block; a toy dataset."""
    monkeypatch.setitem(catalogue_module.ENTRIES, "toy", toy_entry)
    monkeypatch.setitem(factory.MODELS, "toy", (ToyConfig, ToyFitter))
    monkeypatch.setitem(runner.TRAINERS, "toy_two_stage", toy_trainer)
    test_config["training"]["runs"]["toy"] = {"tasks": ["denoising"]}
    test_config["models"]["hyperparameters"]["toy"] = {"fit_steps": 20}
    test_config["evaluation"]["context_sizes"] = [1, 2]
    pool = toy_pool(subjects=4)
    return test_config, {"toy": toy_store(pool)}, {"toy": toy_split(pool, 3)}


def test_the_catalogue_lists_the_toy_after_the_others(toy):
    config, _, _ = toy
    runs = catalogue(config, n_train=3)
    assert runs[-1].name == "toy-denoising" and [r.name for r in runs[:-1]] == [
        r.name for r in catalogue_without(config)
    ]
    run = runs[-1]
    assert run.context_sizes((1, 2, 4)) == [1] and run.target_images and run.trainer == "toy_two_stage"
    plan = Plan.from_config(config)  # the workflow's plan, torch-free, sees it too
    assert plan.run("toy-denoising") == run and "toy-denoising" in plan.trained


def catalogue_without(config: dict[str, Any]) -> list[Run]:
    block = config["training"]["runs"].pop("toy")
    try:
        return catalogue(config, n_train=3)
    finally:
        config["training"]["runs"]["toy"] = block


def test_the_toy_trains_on_unlabeled_test_images_and_is_scored_like_any_run(toy, tmp_path):
    config, stores, splits = toy
    run = by_name(catalogue(config, n_train=3), "toy-denoising")
    networks, log, _ = runner.fit(run, config, stores, splits, tmp_path / "checkpoints", progress=False)

    data = SEEN.data  # (c): the trainer got the test split's images, without a single label
    assert [pool.subjects for pool in data.pools] == [splits["toy"]["train"]]
    assert [pool.subjects for pool in data.target_pools] == [splits["toy"]["test"]]
    assert all(not pool.labels.any() and not pool.classes for pool in data.target_pools)
    assert all(pool.labels.any() for pool in data.pools)
    test_rows = stores["toy"].index["subject"].isin(splits["toy"]["test"]).to_numpy()
    expected = stores["toy"].images[test_rows, 0][stores["toy"].mask[test_rows] > 0].astype("float32").mean()
    assert float(networks[""].target_mean) == pytest.approx(float(expected), rel=1e-3)

    model_path = tmp_path / "model.pt"
    save_networks(model_path, run.name, run.model, config["models"]["hyperparameters"]["toy"], networks)
    ToyFitter.calls_with_grad = 0
    table, samples = evaluate_run(run, config, stores, splits, str(model_path), "cpu")
    assert ToyFitter.calls_with_grad > 0  # (a): the fit at test time had autograd
    assert set(table["context_size"]) == {1}  # (b): scored at L = 1 only, though evaluation asks for 1 and 2
    assert set(table["task"]) == {"denoising"} and set(table["run"]) == {"toy-denoising"}
    assert table["value"].notna().all() and len(samples["task"]) > 0

    metrics_table.write(table, tmp_path / "metrics.csv")  # the same table, the same Table 4
    summary = summarize(metrics_table.read(tmp_path / "metrics.csv"))
    assert summary[["variant", "task", "x_label"]].values.tolist() == [["Toy", "denoising", "1"]]


def test_a_run_naming_an_unknown_trainer_is_an_error(toy, tmp_path):
    config, stores, splits = toy
    run = by_name(catalogue(config, n_train=3), "toy-denoising")
    with pytest.raises(ValueError, match="trainer 'typo'.*episodes"):
        runner.fit(Run.from_dict({**run.to_dict(), "trainer": "typo"}), config, stores, splits, tmp_path)
