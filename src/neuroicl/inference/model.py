"""A model file ready for prediction: its networks and what prediction needs besides them.

Model files written since ``neuroicl predict`` exists carry a ``prediction`` block
(:func:`neuroicl.models.model_file.prediction_info`: preprocessing settings, grid, slice axis, tasks, whether
the model reads the context). An older file, or one converted from released weights, has none: the config it
was trained with (``--config``, e.g. ``config/config.yaml``) supplies it, the run found by name in that config's
catalogue. A config given for a file that has the block replaces the block's preprocessing settings.
A parameter-free run of the comparison (``context_mean``, the floor; ``identity``) has no model file: its name
and the config that lists it stand in for one (its hyperparameters from the config's ``models`` block).

Example:
    >>> model = load_model("results/train/neuralizer-seen/model.pt", device="cpu")
    >>> model.settings.grid.shape, model.in_context
    ((48, 54, 48), True)
    >>> load_model("context_mean", "config/config.yaml").networks[""]  # the floor, from the config
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import yaml

from neuroicl.models.base import Predictor
from neuroicl.models.factory import build_model
from neuroicl.models.model_file import networks_from, prediction_info, prediction_of, read_payload
from neuroicl.plan.experiment import Plan
from neuroicl.preprocess.chain import PreprocessSettings


@dataclass
class PredictionModel:
    """A loaded model file.

    Attributes:
        path: the model file; run: its run's name; model: its model name.
        networks: label -> network in eval mode ("" for a run with one network).
        info: its prediction block (:func:`neuroicl.models.model_file.prediction_info`).
        settings: the preprocessing chain's settings (grid, registration, N4, normalisation).
    """

    path: str
    run: str
    model: str
    networks: dict[str, Predictor]
    info: dict[str, Any]
    settings: PreprocessSettings

    @property
    def in_context(self) -> bool:
        return bool(self.info["in_context"])

    @property
    def axis(self) -> str:
        return self.info["preprocess"]["slices"]["axis"]

    def network(self, label: str | None) -> Predictor:
        """The network for segmentation class ``label``: a per-label run's own one, else the only one.

        Raises:
            ValueError: naming the model file and its labels when a per-label run gets no or an unknown label.
        """
        if set(self.networks) == {""}:
            return self.networks[""]
        if label not in self.networks:
            raise ValueError(f"{self.path}: run {self.run!r} has one network per segmentation class; choose one with "
                             f"--label (one of {sorted(self.networks)}), got {label!r}")
        return self.networks[label]


def read_config(path: str | os.PathLike) -> dict[str, Any]:
    """A pipeline config file (YAML), as ``snakemake --configfile`` reads it (no schema defaults)."""
    try:
        config = yaml.safe_load(open(path))  # noqa: SIM115 - read once
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"cannot read the config {path} ({error})") from error
    if not isinstance(config, dict) or "preprocess" not in config:
        raise ValueError(f"{path} is not a pipeline config (no 'preprocess' block); give e.g. config/config.yaml")
    return config


def info_from_config(run: str, config: dict[str, Any], config_path: str | os.PathLike) -> dict[str, Any]:
    """The prediction block of run ``run`` under ``config`` (a file written before the block existed)."""
    plan = Plan.from_config(config)
    names = [r.name for r in plan.every_run]
    if run not in names:
        raise ValueError(f"run {run!r} of the model file is not in the catalogue of {config_path} (runs: {names}); "
                         "give the config the model was trained with")
    return prediction_info(plan.run(run), {**config, "reference": config.get("reference", {})})


def parameter_free(name: str, config_path: str | os.PathLike, device: torch.device | str) -> PredictionModel:
    """Parameter-free run ``name`` of the config at ``config_path``, built as evaluation builds it.

    Raises:
        ValueError: when ``name`` is not a run of the config's catalogue, or is a run with a model file (the
            message names the file to give instead).
    """
    config = read_config(config_path)
    plan = Plan.from_config(config)
    runs = {r.name: r for r in plan.every_run}
    free = sorted(n for n, r in runs.items() if not r.has_model_file)
    if name not in runs:
        raise ValueError(f"--model {name}: no such model file, and not a run of {config_path} (its parameter-free "
                         f"runs: {free})")
    run = runs[name]
    if run.has_model_file:
        raise ValueError(f"--model {name}: run {name!r} is trained; give its model file "
                         f"results/train/{name}/model.pt")
    hparams = config.get("models", {}).get("hyperparameters", {}).get(run.model, {})
    info = info_from_config(name, config, config_path)
    network = build_model(run.model, device=device, **hparams)
    return PredictionModel(name, name, run.model, {"": network}, info, PreprocessSettings.from_config(
        info["preprocess"]))


def load_model(path: str | os.PathLike, config: str | os.PathLike | None = None,
               device: torch.device | str = "cpu") -> PredictionModel:
    """Load model file ``path`` for prediction on ``device``; ``config`` supplies or replaces its settings.
    ``path`` may instead name a parameter-free run of ``config``'s catalogue (:func:`parameter_free`).

    Raises:
        ValueError: naming the file when it is unreadable or not a model file, or when it has no prediction
            block and no ``config`` is given.
    """
    if not os.path.exists(path) and os.sep not in str(path) and not str(path).endswith(".pt"):
        if config is None:
            raise ValueError(f"--model {path}: no such model file; a parameter-free run (e.g. context_mean) needs "
                             "the config that lists it: --config config/config.yaml")
        return parameter_free(str(path), config, device)
    payload = read_payload(path)
    info = prediction_of(payload)
    if config is not None:
        from_config = info_from_config(payload["run"], read_config(config), config)
        info = from_config if info is None else {**info, "preprocess": from_config["preprocess"],
                                                 "reference": from_config["reference"]}
    if info is None:
        raise ValueError(f"{path} was written before model files kept their preprocessing settings (run "
                         f"{payload['run']!r}); give the config it was trained with: --config config/config.yaml")
    settings = PreprocessSettings.from_config(info["preprocess"])
    return PredictionModel(str(path), payload["run"], payload["model"], networks_from(payload, device), info,
                           settings)
