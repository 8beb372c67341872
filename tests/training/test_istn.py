"""ISTN's iteration: what each of its three updates changes, the target-label guard, the losses, determinism."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from neuroicl.models.istn import ISTN, ISTNConfig, to_istn_space, warp_with_field
from neuroicl.models.istn_critics import Discriminator, DiscriminatorConfig, TaskCNN, TaskCNNConfig
from neuroicl.models.unet import UNet, UNetConfig
from neuroicl.training.istn import (
    BETAS,
    TASK_OBJECTIVES,
    ImageOnly,
    ISTNNetworks,
    SourceBatch,
    TargetImages,
    TargetLabelError,
    TaskObjective,
    Transformed,
    bidirectional_generator_loss,
    build_optimizers,
    discriminator_step,
    generator_step,
    istn_iteration,
    task_step,
    unidirectional_generator_loss,
)

B, C, H = 2, 3, 16


@pytest.fixture(autouse=True)
def single_thread():
    """One intra-op thread: tiny tensors gain nothing, and threads oversubscribe busy cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _networks(seed: int = 0, mode: str = "itn+affine", bidirectional: bool = False,
              task: torch.nn.Module | None = None) -> ISTNNetworks:
    g = _gen(seed)
    config = ISTNConfig(mode=mode, image_size=H, features=2, spacing=4)
    critic = DiscriminatorConfig(features=2)
    return ISTNNetworks(
        ISTN(config, generator=g), Discriminator(critic, generator=g),
        task if task is not None else TaskCNN(TaskCNNConfig(outputs=2, features=2), generator=g),
        ISTN(config, generator=g) if bidirectional else None,
        Discriminator(critic, generator=g) if bidirectional else None)


def _data(seed: int = 1) -> tuple[SourceBatch, TargetImages]:
    g = _gen(seed)
    source = SourceBatch(to_istn_space(torch.rand(B, C, H, H, generator=g)), torch.tensor([0, 1]))
    return source, TargetImages(to_istn_space(torch.rand(B, C, H, H, generator=g)))


def _snapshot(modules) -> list[torch.Tensor]:
    return [p.detach().clone() for m in modules for p in m.parameters()]


def _changed(before: list[torch.Tensor], modules) -> bool:
    after = [p for m in modules for p in m.parameters()]
    return any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))


def _perturb_identity_init(networks: ISTNNetworks) -> None:
    """Small random final ITN conv and STN heads, so that gradients reach every ISTN layer (at the exact identity
    initialisation they stop at those zero layers in the first update)."""
    g = _gen(9)
    with torch.no_grad():
        for istn in networks.generators():
            zeroed = [istn.itn.output] if istn.itn is not None else []
            zeroed += list(istn.stn.heads.values()) if hasattr(istn.stn, "heads") else [istn.stn.head]
            for layer in zeroed:
                layer.weight.normal_(0, 0.01, generator=g)
                layer.bias.normal_(0, 0.01, generator=g)


# --- the target-label guard ---------------------------------------------------------------------------------


def test_target_images_carry_images_only():
    images = torch.zeros(B, C, H, H)
    assert [f.name for f in dataclasses.fields(TargetImages)] == ["images"]
    with pytest.raises(TypeError):
        TargetImages(images, torch.zeros(B))  # type: ignore[call-arg]
    target = TargetImages(images)
    with pytest.raises(dataclasses.FrozenInstanceError):
        target.labels = torch.zeros(B)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["labels", "target_out", "masks"])
def test_reading_a_target_label_raises(name):
    target = TargetImages(torch.zeros(B, C, H, H))
    with pytest.raises(TargetLabelError, match="without labels"):
        getattr(target, name)
    with pytest.raises(TargetLabelError):
        getattr(target, name, None)  # a default does not swallow the guard


def test_the_iteration_refuses_a_labelled_target():
    networks, (source, _) = _networks(), _data()
    with pytest.raises(TypeError, match="target must be TargetImages"):
        istn_iteration(networks, build_optimizers(networks), source, source, TASK_OBJECTIVES["classification"],
                       _gen())


@pytest.mark.parametrize("bidirectional", [False, True])
def test_a_full_iteration_never_reaches_for_target_labels(bidirectional, monkeypatch):
    reads: list[str] = []

    def spy(self, name):
        reads.append(name)
        raise TargetLabelError(name)

    monkeypatch.setattr(TargetImages, "__getattr__", spy)
    networks, (source, target) = _networks(bidirectional=bidirectional), _data()
    istn_iteration(networks, build_optimizers(networks), source, target, TASK_OBJECTIVES["classification"], _gen())
    assert reads == []
    with pytest.raises(TargetLabelError):
        target.labels  # noqa: B018 -- the spy is live: it would have seen a read
    assert reads == ["labels"]


# --- what each update changes -------------------------------------------------------------------------------


@pytest.mark.parametrize("bidirectional", [False, True])
def test_step_a_updates_the_istn_with_the_discriminator_frozen(bidirectional):
    networks, (source, target) = _networks(bidirectional=bidirectional), _data()
    _perturb_identity_init(networks)
    optimizers = build_optimizers(networks)
    critics, istns = _snapshot(networks.discriminators()), _snapshot(networks.generators())
    task = _snapshot([networks.task])
    generator_step(networks, optimizers.istn, source.images, target, _gen())
    for istn in networks.generators():
        for name, p in istn.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert all(p.grad is None and p.requires_grad for d in networks.discriminators() for p in d.parameters())
    assert all(p.grad is None for p in networks.task.parameters())
    assert _changed(istns, networks.generators())
    assert not _changed(critics, networks.discriminators()) and not _changed(task, [networks.task])


def test_the_first_update_moves_the_zero_initialised_layers():
    networks, (source, target) = _networks(mode="itn+bspline"), _data()
    zeroed = [networks.istn.itn.output, networks.istn.stn.head]
    assert all(not layer.weight.any() for layer in zeroed)
    generator_step(networks, build_optimizers(networks).istn, source.images, target, _gen())
    assert all(layer.weight.any() for layer in zeroed)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_step_b_updates_only_the_discriminators(bidirectional):
    networks, (source, target) = _networks(bidirectional=bidirectional), _data()
    optimizers = build_optimizers(networks)
    _, transformed = generator_step(networks, optimizers.istn, source.images, target, _gen())
    istns, task = _snapshot(networks.generators()), _snapshot([networks.task])
    critics = [_snapshot([d]) for d in networks.discriminators()]
    optimizers.istn.zero_grad(set_to_none=True)  # step (a)'s gradients
    losses = discriminator_step(networks, optimizers.discriminator, source.images, target, transformed, _gen())
    assert set(losses) == ({"discriminator", "source_discriminator"} if bidirectional else {"discriminator"})
    assert all(_changed(before, [d]) for before, d in zip(critics, networks.discriminators(), strict=True))
    assert not _changed(istns, networks.generators()) and not _changed(task, [networks.task])
    assert all(p.grad is None for istn in networks.generators() for p in istn.parameters())


def test_step_c_updates_only_the_task_model_on_source_labels():
    networks, (source, target) = _networks(), _data()
    optimizers = build_optimizers(networks)
    _, transformed = generator_step(networks, optimizers.istn, source.images, target, _gen())
    istns, critics = _snapshot(networks.generators()), _snapshot(networks.discriminators())
    task = _snapshot([networks.task])
    seen = []

    def loss(prediction, labels):
        seen.append(labels)
        return TASK_OBJECTIVES["classification"].loss(prediction, labels)

    task_step(networks.task, optimizers.task, source.labels, transformed, TaskObjective(loss))
    assert len(seen) == 1 and seen[0] is source.labels
    assert _changed(task, [networks.task])
    assert not _changed(istns, networks.generators()) and not _changed(critics, networks.discriminators())


def test_segmentation_labels_move_with_the_transformed_image():
    s2t = torch.rand(B, C, H, H, generator=_gen(2))
    displacement = 0.1 * torch.rand(B, 2, H, H, generator=_gen(3))
    masks = (torch.rand(B, C, H, H, generator=_gen(4)) > 0.5).float()
    task = ImageOnly(UNet(UNetConfig(channels=4, levels=2), generator=_gen()))
    seen = []

    def loss(raw, labels):
        seen.append(labels)
        return TASK_OBJECTIVES["segmentation"].loss(raw, labels)

    task_step(task, torch.optim.Adam(task.parameters()), masks, Transformed(s2t, displacement),
              TaskObjective(loss, spatial=True))
    torch.testing.assert_close(seen[0], warp_with_field(masks, displacement))
    assert not torch.equal(seen[0], masks)


def test_an_iteration_trains_the_unet_for_segmentation():
    task = ImageOnly(UNet(UNetConfig(channels=4, levels=2), generator=_gen()))
    networks, (source, target) = _networks(mode="itn+bspline", task=task), _data()
    masks = (torch.rand(B, C, H, H, generator=_gen(4)) > 0.5).float()
    before = _snapshot([task])
    losses = istn_iteration(networks, build_optimizers(networks), SourceBatch(source.images, masks), target,
                            TASK_OBJECTIVES["segmentation"], _gen())
    assert _changed(before, [task]) and all(torch.isfinite(torch.tensor(v)) for v in losses.values())


# --- the losses, optimisers and determinism -----------------------------------------------------------------


def test_the_unidirectional_loss_weights_identity_by_half_lambda():
    logits, real = torch.tensor([0.0, 0.0]), torch.tensor([1.0, 1.0])
    t, t2t = torch.zeros(1, 1, 2, 2), torch.full((1, 1, 2, 2), 0.1)
    losses = unidirectional_generator_loss(logits, real, t2t, t, weight=50.0)
    torch.testing.assert_close(losses["adversarial"], torch.tensor(0.6931472))  # BCE(1/2, 1) = log 2
    torch.testing.assert_close(losses["identity"], torch.tensor(0.1))
    torch.testing.assert_close(losses["istn"], torch.tensor(0.6931472 + 25 * 0.1))


def test_the_bidirectional_loss_adds_the_cycle_at_lambda():
    one = torch.tensor(1.0)
    losses = bidirectional_generator_loss((one, 3 * one), (0.1 * one, 0.2 * one), (0.01 * one, 0.02 * one), 50.0)
    torch.testing.assert_close(losses["istn"], torch.tensor(2.0 + 25 * 0.3 + 50 * 0.03))


def test_the_optimisers_follow_the_code():
    networks = _networks(bidirectional=True)
    optimizers = build_optimizers(networks)
    assert optimizers.istn.defaults["betas"] == BETAS == (0.5, 0.999) and optimizers.istn.defaults["lr"] == 1e-4
    assert optimizers.task.defaults["betas"] == (0.9, 0.999)
    n_istn = sum(p.numel() for istn in networks.generators() for p in istn.parameters())
    assert sum(p.numel() for group in optimizers.istn.param_groups for p in group["params"]) == n_istn
    assert len(optimizers.discriminator.param_groups[0]["params"]) == 2 * len(list(networks.discriminator.parameters()))


@pytest.mark.parametrize("bidirectional", [False, True])
def test_two_iterations_are_deterministic_and_leave_the_global_rng_alone(bidirectional):
    state = torch.get_rng_state()
    runs = []
    for _ in range(2):
        networks, (source, target) = _networks(bidirectional=bidirectional, mode="itn+bspline"), _data()
        optimizers, g = build_optimizers(networks), _gen(5)
        logs = [istn_iteration(networks, optimizers, source, target, TASK_OBJECTIVES["classification"], g)
                for _ in range(2)]
        modules = [*networks.generators(), *networks.discriminators(), networks.task]
        runs.append((logs, [t for m in modules for t in m.state_dict().values()]))
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1], strict=True))
    assert torch.equal(torch.get_rng_state(), state)
    other = _networks(bidirectional=bidirectional, mode="itn+bspline")
    another_seed = istn_iteration(other, build_optimizers(other), *_data(), TASK_OBJECTIVES["classification"], _gen(6))
    assert runs[0][0][0] != another_seed  # the generator's draws (dropout, soft labels) matter


def test_the_iteration_reports_every_loss():
    networks, (source, target) = _networks(bidirectional=True), _data()
    losses = istn_iteration(networks, build_optimizers(networks), source, target,
                            TASK_OBJECTIVES["classification"], _gen())
    assert set(losses) == {"istn", "adversarial", "identity", "cycle", "discriminator", "source_discriminator",
                           "task"}
    assert all(isinstance(v, float) for v in losses.values())
    assert losses["identity"] < 1e-5 and losses["cycle"] < 1e-5  # the identity at initialisation


@pytest.mark.parametrize("name,labels", [("regression", torch.tensor([40.0, 60.0])),
                                         ("regression_l1", torch.tensor([40.0, 60.0])),
                                         ("classification", torch.tensor([1, 0]))])
def test_the_image_level_objectives_train_a_task_cnn(name, labels):
    outputs = 2 if name == "classification" else 1
    task = TaskCNN(TaskCNNConfig(outputs=outputs, features=2), generator=_gen())
    networks, (source, target) = _networks(task=task), _data()
    losses = istn_iteration(networks, build_optimizers(networks), SourceBatch(source.images, labels), target,
                            TASK_OBJECTIVES[name], _gen())
    assert losses["task"] > 0
