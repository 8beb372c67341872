"""The released Neuralizer weights: a checkpoint fabricated in the authors' key layout, served over HTTP on
127.0.0.1, fetched through the registry and lock file, mapped onto our Neuralizer and checked against a forward
pass written from their layout (SteffenCzolbe/neuralizer: models/nn/unet_backbone.py, layers.py,
pairwise_conv_avg_model.py), with torch.nn.functional only."""

from __future__ import annotations

import argparse
import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import yaml

from neuroicl.datasets.download import fetch
from neuroicl.datasets.lock import read_lock
from neuroicl.models.losses import objective_for
from neuroicl.models.released import PREFIX, load_released, map_state_dict, read_checkpoint, save_released, their_key

C, STAGES, CONVS = 4, 3, 2  # width, levels, convolutions per residual unit (tiny; the release: 64, 4, 2)
ENTRY = "neuralizer_weights"


def their_shapes(c: int = C, stages: int = STAGES, convs: int = CONVS) -> dict[str, tuple[int, ...]]:
    """Every parameter of their LightningModel(PairwiseConvAvgModel(dim=2, in_channels=3, out_channels=3)), by
    their module names: ``Vmap`` wraps its layer as ``.module``; a residual unit is ``layers`` = [conv, GELU] *
    (convs - 1) + [conv]; max pooling (equal widths) has no parameters."""
    shapes: dict[str, tuple[int, ...]] = {}

    def conv(name: str, cin: int, cout: int, k: int) -> None:
        shapes[f"net.{name}.weight"], shapes[f"net.{name}.bias"] = (cout, cin, k, k), (cout,)

    def unit(name: str) -> None:
        for i in range(convs):
            conv(f"{name}.layers.{2 * i}", c, c, 3)

    def block(name: str) -> None:
        unit(f"{name}.context_conv.module")
        unit(f"{name}.target_conv")
        conv(f"{name}.combine_conv_target.module", 2 * c, c, 1)
        conv(f"{name}.combine_conv_context.module", 2 * c, c, 1)

    conv("target_embedding", 3, c, 1)
    conv("context_embedding.module", 6, c, 1)
    for i in range(stages):
        block(f"enc_blocks.{i}")
    for i in range(stages - 1):
        block(f"dec_blocks.{i}")
        conv(f"upsample_blocks.{i}.context_conv_layer.module", 2 * c, c, 1)
        conv(f"upsample_blocks.{i}.target_conv_layer", 2 * c, c, 1)
    unit("output_block.block.0")
    conv("output_block.block.1", c, 3, 1)
    return shapes


def their_state(seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {key: 0.3 * torch.randn(shape, generator=generator) for key, shape in their_shapes().items()}


def their_forward(sd: dict[str, torch.Tensor], context_in, context_out, target_in) -> torch.Tensor:
    """UnetBackbone.forward of PairwiseConvAvgModel, from their state dict (``B L C H W`` context)."""

    def conv(x, name):
        return F.conv2d(x, sd[f"net.{name}.weight"], sd[f"net.{name}.bias"], padding="same")

    def vmap(fn, x, *args):
        return fn(x.flatten(0, 1), *args).unflatten(0, x.shape[:2])

    def residual(x, name):  # layers.py ResidualUnit: gelu(input + layers(input))
        h = x
        for i in range(CONVS):
            h = conv(h, f"{name}.layers.{2 * i}")
            h = F.gelu(h) if i < CONVS - 1 else h
        return F.gelu(x + h)

    def block(context, target, name):  # PairwiseConvAvgModelBlock.forward
        context = vmap(residual, context, f"{name}.context_conv.module")
        target = residual(target, f"{name}.target_conv")
        pairs = torch.concat([context, target.unsqueeze(1).expand_as(context)], dim=2)
        target_update = vmap(conv, pairs, f"{name}.combine_conv_target.module").mean(dim=1)
        context_update = vmap(conv, pairs, f"{name}.combine_conv_context.module")
        return F.gelu(context + context_update), F.gelu(target + target_update)

    def up(x):
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)

    context = vmap(conv, torch.cat([context_in, context_out], dim=2), "context_embedding.module")
    target = conv(target_in, "target_embedding")
    shortcuts = []
    for i in range(STAGES):
        context, target = block(context, target, f"enc_blocks.{i}")
        if i < STAGES - 1:
            shortcuts.append((context, target))
            context, target = vmap(F.max_pool2d, context, 2), F.max_pool2d(target, 2)
    for i, (ctx_short, tgt_short) in enumerate(shortcuts[::-1]):
        context, target = vmap(up, context), up(target)
        context = vmap(conv, torch.cat([context, ctx_short], dim=2), f"upsample_blocks.{i}.context_conv_layer.module")
        target = conv(torch.cat([target, tgt_short], dim=1), f"upsample_blocks.{i}.target_conv_layer")
        context, target = block(context, target, f"dec_blocks.{i}")
    return conv(residual(target, "output_block.block.0"), "output_block.block.1")


def lightning_checkpoint(state: dict[str, torch.Tensor], **hparams) -> dict:
    """A checkpoint as Lightning writes it (hyper_parameters as the authors' argparse options)."""
    options = {"nb_levels": STAGES, "nb_inner_channels": C, "nb_conv_layers_per_stage": CONVS,
               "data_slice_only": True, **hparams}
    return {"epoch": 3, "global_step": 1200, "pytorch-lightning_version": "1.6.5", "state_dict": state,
            "hyper_parameters": options, "optimizer_states": [], "lr_schedulers": []}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = self.server.files.get(self.path.lstrip("/"))
        if body is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def serve():
    """``serve(name, body) -> url``: a real HTTP server on 127.0.0.1 for the test's duration."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.files = {}
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()

    def add(name: str, body: bytes) -> str:
        httpd.files[name] = body
        return f"http://127.0.0.1:{httpd.server_address[1]}/{name}"

    yield add
    httpd.shutdown()
    httpd.server_close()


def save(tmp_path: Path, payload: object, name: str = "model_weights.ckpt") -> Path:
    path = tmp_path / name
    torch.save(payload, path)
    return path


@pytest.fixture()
def downloaded(tmp_path, root, serve):
    """The fabricated checkpoint fetched through the committed registry entry (its URL pointed at the local
    server): returns the path and the bytes served."""
    source = save(tmp_path, lightning_checkpoint(their_state()))
    body = source.read_bytes()
    entry = yaml.safe_load((root / "resources" / "datasets" / "registry.yaml").read_text())[ENTRY]
    entry["url"] = serve(Path(entry["url"]).name, body)
    registry = tmp_path / "registry.yaml"
    registry.write_text(yaml.safe_dump({ENTRY: entry}))
    path = fetch(ENTRY, registry, tmp_path / "registry.lock.yaml", tmp_path / "downloads", progress=False, retries=0)
    return path, body, entry


def inputs(seed: int = 1, b: int = 2, l: int = 3, h: int = 8, w: int = 12):
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(b, 3, h, w, generator=generator), torch.rand(b, l, 3, h, w, generator=generator),
            torch.rand(b, l, 3, h, w, generator=generator))


def test_the_committed_entry_downloads_without_a_published_hash_and_records_it_in_the_lock_file(downloaded, tmp_path):
    path, body, entry = downloaded
    assert entry["hash"] is None and entry["licence"].startswith("MIT")
    assert path == tmp_path / "downloads" / entry["filename"] and path.read_bytes() == body
    record = read_lock(tmp_path / "registry.lock.yaml")[ENTRY]
    assert (record.sha256, record.size, record.url) == (hashlib.sha256(body).hexdigest(), len(body), entry["url"])


def test_every_key_is_mapped_once_and_the_architecture_is_read_off_the_weights(downloaded):
    state, hparams = read_checkpoint(downloaded[0])
    config, mapped = map_state_dict(state, hparams=hparams)
    assert (config.channels, config.levels, config.conv_layers, config.last_context_update) == (C, STAGES, CONVS, True)
    assert set(state) == set(their_shapes()) == {their_key(key) for key in mapped}  # one to one
    assert all(torch.equal(mapped[key], state[their_key(key)]) for key in mapped)


def test_the_release_at_64_channels_has_table_6s_parameter_count():
    shapes = their_shapes(c=64, stages=4, convs=2)
    state = {key: torch.zeros(shape) for key, shape in shapes.items()}
    config, mapped = map_state_dict(state)
    assert config.channels == 64 and config.levels == 4
    assert sum(t.numel() for t in mapped.values()) == 1_273_859  # docs/models.md, candidate A


def test_our_forward_with_the_mapped_weights_is_theirs(downloaded):
    model = load_released(downloaded[0])
    target_in, context_in, context_out = inputs()
    with torch.no_grad():
        ours = model(target_in, context_in, context_out)
    theirs = their_forward(their_state(), context_in, context_out, target_in)
    assert ours.shape == (2, 3, 8, 12)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("family", ["segmentation", "skull_strip", "transfer"])
def test_a_single_output_is_read_and_written_in_channel_0(downloaded, family):
    model = load_released(downloaded[0])
    target_in, context_in, context_out = inputs(seed=2)
    first = torch.zeros_like(context_out)
    first[:, :, 0] = context_out[:, :, 0]
    with torch.no_grad():
        pred = model.predict(target_in, context_in, context_out, model.objective(family))
    channel_0 = their_forward(their_state(), context_in, first, target_in)[:, :1]
    torch.testing.assert_close(pred, channel_0.expand(-1, 3, -1, -1), rtol=1e-5, atol=1e-6)


def test_an_aligned_output_is_passed_through(downloaded):
    model = load_released(downloaded[0])
    target_in, context_in, context_out = inputs(seed=3)
    with torch.no_grad():
        pred = model.predict(target_in, context_in, context_out, model.objective("reconstruction"))
    torch.testing.assert_close(pred, their_forward(their_state(), context_in, context_out, target_in))


def test_predict_without_the_family_and_training_are_refused(downloaded):
    model = load_released(downloaded[0])
    with pytest.raises(ValueError, match="needs the task family"):
        model.predict(*inputs(), objective_for("segmentation"))
    target_in, context_in, context_out = inputs()
    with pytest.raises(ValueError, match="train with label_layout='replicated'"):
        model.loss(target_in, context_in, context_out, target_in, model.objective("segmentation"))


def test_a_missing_key_is_refused_and_named(tmp_path):
    state = their_state()
    del state["net.dec_blocks.1.combine_conv_context.module.bias"]
    with pytest.raises(ValueError, match=r"missing keys \['net.dec_blocks.1.combine_conv_context.module.bias'\]"):
        load_released(save(tmp_path, lightning_checkpoint(state)))


def test_an_unexpected_key_is_refused_and_named(tmp_path):
    state = their_state()
    state["net.downsample_blocks.0.target_linear_layer.weight"] = torch.zeros(C, C, 4, 4)
    with pytest.raises(ValueError, match=r"unexpected keys \['net.downsample_blocks.0.target_linear_layer.weight'\]"):
        load_released(save(tmp_path, lightning_checkpoint(state)))


def test_a_key_outside_the_network_is_refused_unless_named_in_ignore(tmp_path):
    state = {**their_state(), "loss.dummy_param": torch.empty(0)}
    path = save(tmp_path, lightning_checkpoint(state))
    with pytest.raises(ValueError, match=r"unexpected keys \['loss.dummy_param'\].*ignore"):
        load_released(path)
    assert load_released(path, ignore=["loss.dummy_param"]).config.channels == C
    with pytest.raises(ValueError, match=r"network keys: \['net.target_embedding.bias'\]"):
        load_released(path, ignore=["net.target_embedding.bias"])
    with pytest.raises(ValueError, match=r"not in the checkpoint: \['loss.other'\]"):
        load_released(path, ignore=["loss.other"])


def test_a_shape_that_differs_is_refused_and_named(tmp_path):
    state = their_state()
    state["net.output_block.block.1.weight"] = torch.zeros(2, C, 1, 1)
    with pytest.raises(ValueError, match=r"net.output_block.block.1.weight \(2, 4, 1, 1\) vs ours \(3, 4, 1, 1\)"):
        load_released(save(tmp_path, lightning_checkpoint(state)))


@pytest.mark.parametrize(("hparams", "named"), [({"nb_inner_channels": 64}, "nb_inner_channels=64"),
                                                ({"data_slice_only": False}, "3-D model")])
def test_hyperparameters_that_contradict_the_weights_are_refused(tmp_path, hparams, named):
    with pytest.raises(ValueError, match=named):
        load_released(save(tmp_path, lightning_checkpoint(their_state(), **hparams)))


def test_a_3d_checkpoint_is_refused(tmp_path):
    state = their_state()
    state["net.target_embedding.weight"] = torch.zeros(C, 3, 1, 1, 1)
    with pytest.raises(ValueError, match="a 3-D checkpoint has 5-D weights"):
        load_released(save(tmp_path, lightning_checkpoint(state)))


class _Trap:
    """Unpickling it would run code (and raise); the inert loader must not."""

    def __reduce__(self):
        return (exec, ("raise RuntimeError('code from the checkpoint ran')",))


def test_classes_in_the_extra_parts_are_loaded_inert_and_run_no_code(tmp_path):
    state = their_state()
    payload = lightning_checkpoint(state, options=argparse.Namespace(lr=1e-4), trap=_Trap())
    loaded, hparams = read_checkpoint(save(tmp_path, payload))
    assert loaded.keys() == state.keys() and all(torch.equal(loaded[k], state[k]) for k in state)
    assert hparams["nb_levels"] == STAGES and type(hparams["trap"]).__module__.startswith("inert.")


def test_a_plain_state_dict_is_accepted_and_anything_else_is_refused(tmp_path):
    assert load_released(save(tmp_path, their_state())).config.levels == STAGES
    with pytest.raises(ValueError, match="neither a Lightning checkpoint"):
        read_checkpoint(save(tmp_path, {"weights": [1, 2]}, "other.ckpt"))
    with pytest.raises(ValueError, match="not a Neuralizer checkpoint"):
        load_released(save(tmp_path, {f"{PREFIX}x.weight": torch.zeros(1)}, "third.ckpt"))


def test_the_model_file_is_what_evaluation_predicts_with(downloaded, tmp_path):
    from neuroicl.evaluation.predictors import predictor
    from neuroicl.plan.runs import Run

    model = save_released(downloaded[0], tmp_path / "model.pt", "neuralizer-released")
    run = Run("neuralizer-released", "neuralizer", "Neuralizer (released)", ("segmentation",),
              weights_from=ENTRY)
    predict = predictor(run, {"models": {"hyperparameters": {}}}, str(tmp_path / "model.pt"), "cpu")
    target_in, context_in, context_out = inputs(seed=4)
    with torch.no_grad():
        expected = model.predict(target_in, context_in, context_out, model.objective("segmentation"))
        torch.testing.assert_close(predict(target_in, context_in, context_out, "segmentation", ""), expected)
