"""The model file's prediction block, loading it for prediction, and bad calls stopped before any output."""

import logging

import nibabel as nib
import numpy as np
import pytest
import torch

from neuroicl.inference.cli import main
from neuroicl.inference.model import load_model
from neuroicl.inference.predict import Request, predict_files
from neuroicl.models.factory import build_model
from neuroicl.models.model_file import prediction_info, read_payload, save_networks
from neuroicl.plan.experiment import Plan


def _model_file(path, config, run="neuralizer-seen", with_block=True):
    plan = Plan.from_config(config)
    model = plan.run(run).model
    hparams = plan.run_config(run)["models"]["hyperparameters"][model]
    labels = list(config["evaluation"]["labels"]) if plan.run(run).per_label else [""]
    networks = {label: build_model(model, generator=torch.Generator().manual_seed(0), **hparams) for label in labels}
    info = prediction_info(plan.run(run), plan.run_config(run)) if with_block else None
    save_networks(path, run, model, hparams, networks, info)
    return str(path)


def _volume(path, value=1.0):
    data = np.zeros((12, 12, 12), np.float32)
    data[3:9, 3:9, 3:9] = value
    nib.save(nib.Nifti1Image(data, np.diag([3.0, 3.0, 3.0, 1.0])), path)
    return str(path)


def test_the_model_file_keeps_what_prediction_needs(tmp_path, test_config):
    path = _model_file(tmp_path / "model.pt", test_config)
    block = read_payload(path)["prediction"]
    assert block["tasks"] == test_config["tasks"]["evaluated"] and block["in_context"] is True
    assert block["preprocess"] == test_config["preprocess"] and block["reference"] == test_config["reference"]
    model = load_model(path)
    assert model.settings.grid.shape == tuple(test_config["preprocess"]["grid"]["shape"])
    assert model.settings.normalization == "percentile" and model.axis == "coronal"
    assert model.settings.n4.iterations == (20, 20) and model.in_context


def test_an_old_model_file_asks_for_its_config(tmp_path, test_config, root):
    path = _model_file(tmp_path / "model.pt", test_config, with_block=False)
    with pytest.raises(ValueError, match=r"model.pt was written before .*--config"):
        load_model(path)
    model = load_model(path, config=root / "tests" / "config" / "config.yaml")
    assert model.settings.grid.spacing_mm == 6.0 and model.info["tasks"] == test_config["tasks"]["evaluated"]


def test_a_config_without_the_run_is_an_error(tmp_path, test_config, root):
    path = _model_file(tmp_path / "model.pt", test_config, run="mvg", with_block=False)
    with pytest.raises(ValueError, match="'mvg'.*not in the catalogue of .*config.yaml"):
        load_model(path, config=root / "config" / "config.yaml")


def test_a_parameter_free_run_is_named_with_its_config(root, test_config):
    config = root / "tests" / "config" / "config.yaml"
    model = load_model("context_mean", config)
    assert model.run == "context_mean" and model.in_context and model.settings.grid.spacing_mm == 6.0
    context_out = torch.zeros(1, 2, 3, 4, 4)
    context_out[:, 0] = 1.0
    target = torch.rand(1, 3, 4, 4)
    predicted = model.network(None).predict(target, torch.rand(1, 2, 3, 4, 4), context_out, "mask")
    assert torch.allclose(predicted, torch.full_like(target, 0.5))  # the mean of the two context masks
    with pytest.raises(ValueError, match="context_mean: no such model file.*--config"):
        load_model("context_mean")
    with pytest.raises(ValueError, match="'neuralizer-seen' is trained; give its model file results/train/"):
        load_model("neuralizer-seen", config)
    with pytest.raises(ValueError, match=r"not a run of .*parameter-free runs: \['context_mean', 'identity'\]"):
        load_model("floor", config)


def test_a_file_that_is_no_model_file_is_named(tmp_path):
    (tmp_path / "weights.pt").write_bytes(b"junk")
    with pytest.raises(ValueError, match="weights.pt"):
        load_model(tmp_path / "weights.pt")


def test_a_per_label_model_needs_a_label(tmp_path, test_config):
    model = load_model(_model_file(tmp_path / "model.pt", test_config, run="unet-segmentation-all"))
    assert not model.in_context
    with pytest.raises(ValueError, match=r"--label \(one of \['cortex', 'lateral_ventricle'\]\)"):
        model.network(None)
    assert model.network("cortex") is model.networks["cortex"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"context_out": []}, "--context-in gives 1 file.*--context-out 0"),
        ({"context_out": ["empty"]}, "empty.nii.gz is empty"),
        ({"context_in": []}, "in-context model; give context pairs"),
        ({"outputs": []}, "--target gives 1 file.*--out 0"),
        ({"task": "colouring"}, "--task 'colouring' is not a task"),
        ({"threshold": 1.5}, "--threshold must lie in"),
        ({"targets": ["missing"]}, "missing.nii.gz"),
    ],
)
def test_a_bad_call_stops_before_any_output(tmp_path, test_config, change, message):
    model = load_model(_model_file(tmp_path / "model.pt", test_config))
    files = {name: _volume(tmp_path / f"{name}.nii.gz") for name in ("target", "ex1", "mask")}
    files["empty"] = _volume(tmp_path / "empty.nii.gz", value=0.0)
    request = dict(targets=[files["target"]], outputs=[str(tmp_path / "pred.nii.gz")], context_in=[files["ex1"]],
                   context_out=[files["mask"]])
    for key, names in change.items():
        request[key] = [str(tmp_path / f"{n}.nii.gz") for n in names] if isinstance(names, list) else names
    with pytest.raises(ValueError, match=message):
        predict_files(None, model, Request(**request), progress=False)  # never reaches the chain (ants)
    assert not (tmp_path / "pred.nii.gz").exists()


def test_a_task_specific_model_says_it_ignores_the_context(tmp_path, test_config, caplog, monkeypatch):
    model = load_model(_model_file(tmp_path / "model.pt", test_config, run="unet-denoising-all"))
    target = _volume(tmp_path / "target.nii.gz")
    request = Request([target], [str(tmp_path / "pred.nii.gz")], [target], [target], task="denoising")
    monkeypatch.setattr("neuroicl.inference.predict.read_input", _stop)
    with caplog.at_level(logging.WARNING), pytest.raises(RuntimeError, match="stop"):
        predict_files(None, model, request, progress=False)
    assert "task-specific model (unet): it ignores the 1 context pair(s)" in caplog.text


def _stop(*args, **kwargs):
    raise RuntimeError("stop")


def test_the_command_line_reports_a_bad_input_by_name(tmp_path, test_config, capsys):
    path = _model_file(tmp_path / "model.pt", test_config)
    target = _volume(tmp_path / "subj_T1w.nii.gz")
    code = main(["predict", "--model", path, "--target", target, "--out", str(tmp_path / "pred.nii.gz"),
                 "--context-in", target, str(tmp_path / "ex2_T1w.nii.gz"), "--context-out", target, "--quiet"])
    assert code == 2 and "--context-in gives 2 file(s) but --context-out 1" in capsys.readouterr().err
    assert not (tmp_path / "pred.nii.gz").exists()


@pytest.mark.parametrize("run", ["neuralizer-seen", "universeg-skull_stripping", "mvg", "metaseg-segmentation-all",
                                 "unet-segmentation-all", "context_mean", "identity"])
def test_every_kind_of_model_predicts_a_grid(tmp_path, test_config, root, run):
    """Each model of the comparison, in-context or not, turns grid volumes into a map on the grid (untrained
    weights: not a probability yet; predict thresholds it)."""
    from neuroicl.inference.predict import OnGrid, predict_grid

    if run in ("context_mean", "identity"):
        model = load_model(run, root / "tests" / "config" / "config.yaml")
    else:
        model = load_model(_model_file(tmp_path / "model.pt", test_config, run=run))
    shape = model.settings.grid.shape
    rng = np.random.default_rng(0)

    def volume(output: bool) -> OnGrid:
        image = rng.random(shape).astype(np.float32)
        return OnGrid(image, np.ones(shape, bool), np.eye(4), (image > 0.5).astype(np.float32) if output else None)

    label = "cortex" if model.info["per_label"] else None
    grid = predict_grid(model, volume(False), [volume(True), volume(True)], "segmentation", label, 16, "cpu")
    assert grid.shape == shape and np.isfinite(grid).all()
    if run == "context_mean":  # the mean of two binary context masks
        assert set(np.unique(grid)) <= {0.0, 0.5, 1.0}
