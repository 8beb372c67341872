"""build_model: names, hyperparameter validation, seeded initialisation."""

import pytest
import torch

from neuroicl.models import build_model, model_config
from neuroicl.models.context_mean import ContextMean
from neuroicl.models.neuralizer import Neuralizer
from neuroicl.models.unet import UNet
from neuroicl.models.universeg import UniverSeg


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("neuralizer", Neuralizer),
        ("unet", UNet),
        ("universeg", UniverSeg),
        ("context_mean", ContextMean),
    ],
)
def test_builds_each_model_by_name(name, cls, tiny):
    assert type(build_model(name, **tiny[name])) is cls


def test_unknown_name_raises_and_lists_valid_names():
    with pytest.raises(
        ValueError, match=r"'transformer'.*context_mean.*neuralizer.*unet.*universeg"
    ):
        build_model("transformer")


def test_unknown_hyperparameter_raises_and_lists_valid_keys():
    with pytest.raises(ValueError, match=r"\['width'\].*'channels'"):
        build_model("neuralizer", width=64)


@pytest.mark.parametrize(
    ("name", "key", "value"),
    [
        ("neuralizer", "channels", 0),
        ("neuralizer", "channels", 64.0),
        ("neuralizer", "levels", 0),
        ("neuralizer", "conv_layers", 0),
        ("neuralizer", "last_context_update", "yes"),
        ("unet", "channels", -1),
        ("unet", "levels", True),
        ("universeg", "channels", 0),
        ("universeg", "label_channel", 3),
        ("context_mean", "weighting", "median"),
        ("context_mean", "temperature", 0.0),
    ],
)
def test_bad_hyperparameter_raises_naming_it(name, key, value):
    with pytest.raises(ValueError, match=rf"{key}.*{value!r}"):
        model_config(name, **{key: value})


def test_configs_are_frozen():
    config = model_config("neuralizer")
    with pytest.raises(AttributeError):
        config.channels = 32


def test_defaults_are_the_paper_configuration():
    config = model_config("neuralizer")
    assert (config.channels, config.levels, config.conv_layers) == (64, 4, 2)


@pytest.mark.parametrize("name", ["neuralizer", "unet", "universeg"])
def test_same_seed_gives_same_weights(name, tiny):
    a = build_model(name, generator=torch.Generator().manual_seed(7), **tiny[name])
    b = build_model(name, generator=torch.Generator().manual_seed(7), **tiny[name])
    c = build_model(name, generator=torch.Generator().manual_seed(8), **tiny[name])
    for (key, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb), key
    assert any(
        not torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters(), strict=True)
    )


@pytest.mark.parametrize("name", ["neuralizer", "unet", "universeg"])
def test_seeded_build_leaves_global_rng_untouched(name, tiny):
    state = torch.get_rng_state()
    build_model(name, generator=torch.Generator().manual_seed(0), **tiny[name])
    assert torch.equal(state, torch.get_rng_state())


def test_init_matches_pytorch_default_scale():
    model = build_model("neuralizer", generator=torch.Generator().manual_seed(0))
    weight = model.encoder[0].target_unit.layers[0].weight  # 64 x 64 x 3 x 3
    bound = 1.0 / (64 * 9) ** 0.5  # kaiming_uniform(a=sqrt(5)) on fan_in = 576
    assert weight.abs().max() <= bound
    assert weight.std().item() == pytest.approx(bound / 3**0.5, rel=0.05)


def test_meta_build_allocates_no_weights():
    model = build_model("neuralizer", device="meta")
    assert all(p.is_meta for p in model.parameters())
