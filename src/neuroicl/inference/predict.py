"""``neuroicl predict``: a trained model on raw native-space volumes, the prediction back in native space.

For every volume (targets and context pairs) the pipeline's own chain runs
(:func:`neuroicl.preprocess.chain.preprocess_subject`, with the settings the model file keeps): canonical
reorientation, skull strip (deepbet or the atlas), ANTs affine registration to MNI, resampling onto the model
grid, N4 and normalisation within the brain. A context output is carried to the grid by its input's
transform: a mask by nearest neighbour (as the pipeline carries label maps), an image through the same N4 and
normalisation as its input. Then, slice by slice along the model's slice axis, the target slice is predicted
with the context slices at the same grid position (slices of the grid lie at the same MNI position in every
subject, so this is the pipeline's matching with a slice window of 0). Inputs are skull-stripped (brain-only)
for every task but skull stripping, as in training (:attr:`neuroicl.tasks.base.Task.brain_only`).

Back to native space: the grid prediction is resampled onto the target file's own voxel grid through the
inverse of the estimated affine (:func:`neuroicl.inference.volumes.to_native`) — linearly for both kinds, then
a mask's probability is thresholded (``threshold``) — and written with the target's header.

Shapes: slices ``[S, H, W]``; model inputs ``target_in [S, 3, H, W]``, ``context_in``/``context_out``
``[S, L, 3, H, W]`` (the input modality in channel 0, the others zero, as evaluation's cases).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from neuroicl.data.reference import load_reference
from neuroicl.inference.model import PredictionModel
from neuroicl.inference.volumes import ContextPair, Volume, read_input, read_pairs, to_native, write_like
from neuroicl.plan.families import MASK_FAMILIES, family_of
from neuroicl.plan.reference import resolve_reference
from neuroicl.plan.slicing import axis_index
from neuroicl.preprocess.chain import Preprocessed, PreprocessSettings, Template, preprocess_subject
from neuroicl.preprocess.grid import resample
from neuroicl.preprocess.inputs import SubjectImages
from neuroicl.preprocess.subject import native_stripper
from neuroicl.tasks.base import TASKS

_log = logging.getLogger(__name__)

#: Where a task's output lies in the three channels (:mod:`neuroicl.tasks.catalog`): replicated over the three
#: (masks, a separate modality) or aligned with the input channels (reconstruction: channel 0 here).
REPLICATED_OUTPUTS = ("mask", "image")


@dataclass(frozen=True)
class OnGrid:
    """A volume after the chain: ``image`` and ``brain`` ``[X, Y, Z]`` on the model grid, and its transform."""

    image: np.ndarray
    brain: np.ndarray
    native_to_mni: np.ndarray
    output: np.ndarray | None = None  # a context pair's output on the grid


def task_kind(task: str) -> tuple[str, bool, bool]:
    """``(family, binary, brain_only)`` of ``task``; an unknown task is an error listing the known ones."""
    import neuroicl.tasks.catalog  # noqa: F401 - registers the tasks

    if task not in TASKS:
        raise ValueError(f"--task {task!r} is not a task; one of {sorted(TASKS)}")
    family = family_of(task)
    return family, family in MASK_FAMILIES, TASKS[task].brain_only


def template_for(model: PredictionModel) -> Template:
    """The registration target and atlas brain on the model's grid, from the reference it was trained with."""
    reference = load_reference(resolve_reference(model.info.get("reference") or {}))
    return Template.from_reference(reference.t1, reference.affine, reference.brain, model.settings.grid)


def to_grid(ants, volume: Volume, template: Template, settings: PreprocessSettings, threads: int,
            output: Volume | None = None, binary: bool = True) -> OnGrid:
    """Run the pipeline's chain on ``volume`` (and carry a context ``output`` with it)."""
    data = {"in": volume.data}
    if output is not None and not binary:
        data["out"] = output.data  # an image output: the same resampling, N4 and normalisation as its input
    chain = dataclasses.replace(settings, registration_modality="in")
    stripper = native_stripper(settings.skullstrip, threads)
    result: Preprocessed = preprocess_subject(ants, SubjectImages(volume.path, data, volume.affine), template, chain,
                                              stripper)
    carried = None
    if output is not None:
        carried = result.images["out"] if not binary else resample(
            output.data.astype(np.uint8), output.affine, result.native_to_mni, settings.grid, order=0)
    return OnGrid(result.images["in"], result.mask, result.native_to_mni, carried)


def _slices(volume: np.ndarray, axis: str, indices: np.ndarray) -> Tensor:
    """``[S, H, W]`` float32 slices, through float16 as the slice store keeps them."""
    cut = np.moveaxis(volume, axis_index(axis), 0)[indices]
    return torch.from_numpy(cut.astype(np.float16).astype(np.float32))


def model_inputs(target: OnGrid, context: list[OnGrid], axis: str, indices: np.ndarray, brain_only: bool,
                 replicated: bool) -> tuple[Tensor, Tensor, Tensor]:
    """``target_in [S, 3, H, W]``, ``context_in``/``context_out`` ``[S, L, 3, H, W]`` of slices ``indices``."""

    def image(volume: OnGrid) -> Tensor:
        x = _slices(volume.image, axis, indices)
        return x * _slices(volume.brain.astype(np.float32), axis, indices) if brain_only else x

    def three(x: Tensor, replicate: bool) -> Tensor:
        out = torch.zeros(x.shape[0], 3, *x.shape[1:])
        out[:, :3 if replicate else 1] = x[:, None]
        return out

    target_in = three(image(target), False)
    s, h, w = target_in.shape[0], *target_in.shape[-2:]
    context_in = torch.zeros(s, len(context), 3, h, w)
    context_out = torch.zeros(s, len(context), 3, h, w)
    for j, pair in enumerate(context):
        context_in[:, j] = three(image(pair), False)
        y = _slices(pair.output, axis, indices)
        if brain_only and not replicated:  # an aligned output is an image of the brain, as its input
            y = y * _slices(pair.brain.astype(np.float32), axis, indices)
        context_out[:, j] = three(y, replicated)
    return target_in, context_in, context_out


def predict_grid(model: PredictionModel, target: OnGrid, context: list[OnGrid], task: str, label: str | None,
                 batch_size: int, device: torch.device | str) -> np.ndarray:
    """The prediction ``[X, Y, Z]`` on the grid (probability for a mask, intensity for an image); every slice of
    the grid along the model's axis is predicted, each with the context slices at its position."""
    family, _, brain_only = task_kind(task)
    replicated = TASKS[task].output in REPLICATED_OUTPUTS
    network = model.network(label)
    objective = network.objective(family)
    axis = axis_index(model.axis)
    indices = np.arange(target.image.shape[axis])
    target_in, context_in, context_out = model_inputs(target, context, model.axis, indices, brain_only, replicated)
    out = torch.zeros(len(indices), *target_in.shape[-2:])
    with torch.no_grad():
        for start in range(0, len(indices), batch_size):
            part = slice(start, start + batch_size)
            args = [t[part].to(device) for t in (target_in, context_in, context_out)]
            pred = network.predict(*args, objective).float().cpu()
            out[part] = pred.mean(dim=1) if replicated else pred[:, 0]
    return np.moveaxis(out.numpy(), 0, axis)


@dataclass(frozen=True)
class Request:
    """One ``neuroicl predict`` call.

    Attributes:
        targets, outputs: the target volumes and where each prediction goes (same length).
        context_in, context_out: the context pairs' files (same length).
        task: the task (a mask task is thresholded); label: the class of a per-label run's network.
        threshold: a mask's probability threshold; batch_size: slices per forward pass.
    """

    targets: list[str]
    outputs: list[str]
    context_in: list[str]
    context_out: list[str]
    task: str = "segmentation"
    label: str | None = None
    threshold: float = 0.5
    batch_size: int = 16


def check_request(model: PredictionModel, request: Request) -> None:
    """Everything about the call that can be checked before reading volumes; errors name the flag."""
    if len(request.targets) != len(request.outputs) or not request.targets:
        raise ValueError(f"--target gives {len(request.targets)} file(s) but --out {len(request.outputs)}; give one "
                         "output path per target")
    if len(set(map(os.path.abspath, request.outputs))) != len(request.outputs):
        raise ValueError(f"--out names one file twice: {request.outputs}")
    clash = set(map(os.path.abspath, request.outputs)) & set(
        map(os.path.abspath, [*request.targets, *request.context_in, *request.context_out]))
    if clash:
        raise ValueError(f"--out would overwrite an input: {sorted(clash)}")
    if not 0 < request.threshold < 1:
        raise ValueError(f"--threshold must lie in (0, 1), got {request.threshold}")
    if request.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {request.batch_size}")
    task_kind(request.task)
    if request.task not in model.info["tasks"]:
        _log.warning("run %s was evaluated on %s, not on %r", model.run, model.info["tasks"], request.task)
    if model.in_context:
        if not request.context_in:
            raise ValueError(f"{model.path}: {model.model} is an in-context model; give context pairs with "
                             "--context-in and --context-out")
        most = model.info.get("max_context")
        if most is not None and len(request.context_in) > most:
            raise ValueError(f"{model.path}: run {model.run!r} takes at most {most} context pairs, got "
                             f"{len(request.context_in)}")
    elif request.context_in or request.context_out:
        _log.warning("%s is a task-specific model (%s): it ignores the %d context pair(s) given", model.run,
                     model.model, max(len(request.context_in), len(request.context_out)))
    model.network(request.label)


def predict_files(ants, model: PredictionModel, request: Request, device: torch.device | str = "cpu",
                  threads: int = 1, progress: bool = True,
                  template: Template | None = None) -> list[str]:
    """Predict every target of ``request`` and write each output (atomically); return the outputs written.

    Every file is read and checked first (:mod:`neuroicl.inference.volumes`), so a bad input stops the call
    before any output exists. ``ants`` must come from ``import_ants(1)`` (registrations as the pipeline's).
    """
    check_request(model, request)
    _, binary, _ = task_kind(request.task)
    targets = [read_input(path, f"target {i}") for i, path in enumerate(request.targets, start=1)]
    pairs: list[ContextPair] = []
    if model.in_context:
        pairs = read_pairs(request.context_in, request.context_out, binary)
    template = template if template is not None else template_for(model)
    steps = len(pairs) + len(targets)
    bar = tqdm(total=steps, desc=f"predict {model.run}", unit="volume", disable=not progress)
    context = []
    for pair in pairs:
        context.append(to_grid(ants, pair.image, template, model.settings, threads, pair.output, binary))
        bar.update()
    written = []
    for volume, out in zip(targets, request.outputs, strict=True):
        on_grid = to_grid(ants, volume, template, model.settings, threads)
        grid = predict_grid(model, on_grid, context, request.task, request.label, request.batch_size, device)
        native = to_native(grid, model.settings.grid, on_grid.native_to_mni, volume.file_shape, volume.file_affine,
                           order=1)
        data = (native > request.threshold).astype(np.uint8) if binary else native.astype(np.float32)
        write_like(out, data, volume.path)
        written.append(out)
        bar.update()
    bar.close()
    return written

