"""Benchmark: training samples/s, achieved TFLOP/s, synthesis share and peak memory of the training step (issue #8).

One measured step is the real training step of ``neuroicl.training.loop.train``, rebuilt from the
library's parts so that its phases can be timed: the step's episodes (``tasks`` config block) and
their synthesis on ``--device`` (``synthesize``, from two toy pools of ``--size`` slices), the forward
pass and ``batch_loss`` (under bf16 autocast if ``--bf16``), backward, gradient clipping and the AdamW
step, with the learning-rate schedule and loss weights of the run's ``TrainSettings``. Flags default
to what the loop does on the device: channels-last weights everywhere; bf16 autocast as ``training.precision``
resolves there (``auto``: on CUDA and on CPUs with native bf16); on CUDA ``torch.compile`` when
``training.compile`` is set.

MVG (``--models mvg``, issue #18) is its run ``mvg`` of ``--config`` (``config/paper.yaml``: ViT-L/16) at
``models.hyperparameters.mvg`` with ``image_size = --size``: one prompt pair (L = 1) per episode, its own
loss (:func:`neuroicl.training.mvg.mvg_step_loss`: canvases, colours, masks, smooth-L1) and its AdamW
parameter groups (layer decay), as ``train_mvg`` trains it; ``--channels`` does not apply (the table shows
its width D); its FLOPs are those of one canvas forward at batch 1 (attention included), times 3.

Models at the paper configuration (Table 6): Neuralizer (64 channels, 4 levels, two convolutions per
unit, the last context update kept) on Table 7 episodes (run ``neuralizer-seen``) with context size
``--context``: one L (default 16) or ``LOW-HIGH``, one L per step uniform in it as training draws it
(``1-31`` has mean 16); the U-Net (64 channels) on episodes of ``--unet-task`` with no context (L = 0)
and only its run's augmentation groups, as its training draws them.

Figures: samples/s = B × steps / wall time; synthesis share = time from drawing the episodes to a
ready batch over the step time (on CUDA the device is synchronised around synthesis, in a second pass
over the same steps, so the first pass's samples/s carries no extra synchronisation); achieved TFLOP/s
= 3 × the Table 6 forward FLOPs (``neuroicl.models.cost.inference_flops``, batch 1, at the step's L)
× B per step over the wall time; the factor 3 counts the backward pass as two forwards (gradients
of activations and of weights). Peak memory: ``torch.cuda.max_memory_allocated`` over the measured
steps on CUDA; on the CPU the process's peak RSS (``resource.getrusage``) after the peak is reset
(``/proc/self/clear_refs``) before the model is built, so it includes the model, pools and warm-up.
Host round trips per step: on CUDA one more step runs under ``torch.cuda.set_sync_debug_mode("warn")``
and the synchronising calls are counted by source line; on the CPU, where nothing synchronises, one
more step's device part (synthesis after its one plan upload, forward, loss, backward, clipping; not
the AdamW update, whose step counters live on the host) runs under
``tests.helpers.host_sync.HostSyncGuard``, which counts the calls that would.

Usage: python -m bench.train_speed [--models neuralizer,unet] [--device cpu|cuda] [--batch 8]
       [--context 16 | 1-31] [--size 192] [--channels 64] [--warmup 3] [--steps 10] [--threads 2]
       [--bf16 | --no-bf16] [--channels-last | --no-channels-last] [--compile | --no-compile]
       [--peak-tflops 989] [--unet-task segmentation] [--config config/config.yaml] [--write bench/throughput.yaml]
Prints a Markdown table; with ``--write`` it also updates each measured model's entry of that file.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import datetime
import platform
import re
import resource
import shlex
import sys
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from snakemake.utils import update_config
from torch.utils.flop_counter import FlopCounterMode

from neuroicl.models.cost import inference_flops
from neuroicl.models.factory import build_model
from neuroicl.models.mvg import MVG, make_canvas, param_groups
from neuroicl.models.mvg_masks import ar_mask
from neuroicl.plan.runs import Run, by_name, catalogue
from neuroicl.tasks.episodes import Episode
from neuroicl.tasks.pool import Pool
from neuroicl.tasks.setup import TaskSetup
from neuroicl.tasks.synthesize import Batch, plan, synthesize_planned, upload
from neuroicl.training.episodic import settings_for, task_setup
from neuroicl.training.loop import StepLoss, TrainSettings, autocast_dtype, batch_loss, step_generators
from neuroicl.training.mvg import MVGSettings, mvg_step_loss
from neuroicl.training.optimizers import adam_kernel
from tests.helpers.host_sync import HostSyncGuard
from tests.helpers.toy import toy_pool

MODELS = ("neuralizer", "unet")
#: Models measured only when named in ``--models`` (their run must be in ``--config``).
OPTIONAL_MODELS = ("mvg",)
#: Training FLOPs per sample over forward FLOPs: forward + backward (≈ two forwards).
TRAIN_FLOP_FACTOR = 3
#: Each toy pool: subjects x slices rows (enough subjects for distinct context subjects at L ≤ 15).
POOL_SUBJECTS, POOL_SLICES = 16, 5
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Result:
    """One model's figures (times in seconds unless named otherwise)."""

    model: str
    device: str
    image_size: int
    channels: int
    batch_size: int
    mean_context: float
    step_s: float
    samples_per_s: float
    synthesis_s: float
    synthesis_share: float
    train_tflops: float
    peak_memory_gib: float
    syncs_per_step: int
    sync_sites: dict[str, int]


@dataclass
class Workload:
    """Everything one training step needs."""

    model: torch.nn.Module
    forward: torch.nn.Module
    optimizer: torch.optim.Optimizer
    settings: TrainSettings
    pools: list[Pool]
    setup: TaskSetup
    context: tuple[int, int]
    bf16: bool
    device: torch.device
    loss_fn: StepLoss | None = None  # a trainer's own loss (MVG); None: the loop's batch_loss

    def draw(self, rng: np.random.Generator) -> list[Episode]:
        """The step's B episodes: L uniform in ``context`` (the U-Net: no context)."""
        low, high = self.context
        size = int(rng.integers(low, high + 1))
        return self.setup.sampler.sample(rng, self.settings.batch_size, context_size=size)

    def synth(self, step: int, guard: HostSyncGuard | None = None) -> Batch:
        """The step's batch (``synthesize``: host plan, one upload, device work; the device work under ``guard``)."""
        rng, generator = step_generators(self.settings.seed, step, self.device)
        setup, episodes = self.setup, self.draw(rng)
        index = upload(plan(self.pools, episodes, setup.tasks, setup.tree), self.device)
        if guard is not None:
            guard.allow(index.values())
        with guard or contextlib.nullcontext():
            return synthesize_planned(self.pools, episodes, setup.tasks, setup.tree, generator, index)

    def optimise(self, step: int, batch: Batch, guard: HostSyncGuard | None = None) -> None:
        """The rest of ``loop.train``'s step: schedule, loss, backward, clipping (under ``guard``), AdamW."""
        for group in self.optimizer.param_groups:
            group["lr"] = self.settings.lr_at(step)
        self.optimizer.zero_grad(set_to_none=True)
        with guard or contextlib.nullcontext():
            with torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
                if self.loss_fn is None:
                    loss = batch_loss(self.forward, batch, self.settings.loss_weights)
                else:
                    generator = step_generators(self.settings.seed, step, self.device)[1]
                    loss = self.loss_fn(self.forward, batch, self.settings.loss_weights, generator)
            loss.backward()
            if self.settings.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.settings.grad_clip)
        self.optimizer.step()


def parse_context(text: str) -> tuple[int, int]:
    """``"16"`` → (16, 16); ``"1-31"`` → (1, 31)."""
    match = re.fullmatch(r"(\d+)(?:-(\d+))?", text)
    low, high = (int(match[1]), int(match[2] or match[1])) if match else (0, -1)
    if not 1 <= low <= high:
        raise argparse.ArgumentTypeError(f"--context must be L >= 1 or LOW-HIGH with 1 <= LOW <= HIGH, got {text!r}")
    return low, high


def toy_pools(size: int, device: torch.device) -> list[Pool]:
    """Two labelled toy datasets of ``size`` x ``size`` slices on ``device``."""
    pools = [toy_pool(name, True, POOL_SUBJECTS, POOL_SLICES, size) for name in ("toy_a", "toy_b")]
    return [dataclasses.replace(p, images=p.images.to(device), brain=p.brain.to(device), labels=p.labels.to(device))
            for p in pools]


def training_run(name: str, config: dict[str, Any], n_train: int, unet_task: str) -> Run:
    """The catalogue run whose training the benchmark repeats."""
    runs = catalogue(config, n_train)
    if name == "neuralizer":
        return by_name(runs, "neuralizer-seen")
    if name == "mvg":
        if "mvg" not in {r.name for r in runs}:
            raise ValueError("--models mvg: the --config has no run 'mvg' (training.runs.mvg); "
                             "use --config config/paper.yaml")
        return dataclasses.replace(by_name(runs, "mvg"), max_context=1)  # one prompt pair, as train_mvg
    chosen = [r for r in runs if r.model == "unet" and r.eval_tasks == (unet_task,) and r.subjects is None]
    if not chosen:
        raise ValueError(f"--unet-task {unet_task!r}: no U-Net run of it in training.runs.unet.tasks")
    return chosen[0]


def workload(name: str, args: argparse.Namespace, config: dict[str, Any], device: torch.device) -> Workload:
    """Model, optimiser, pools and task setup of model ``name`` (weights seeded, on ``device``)."""
    pools = toy_pools(args.size, device)
    run = training_run(name, config, POOL_SUBJECTS, args.unet_task)
    settings = dataclasses.replace(settings_for(run, config["training"]), batch_size=args.batch)
    setup = task_setup(run, config["tasks"], pools, config["preprocess"]["slices"]["axis"])
    generator = torch.Generator().manual_seed(settings.seed)
    loss_fn = None
    if name == "mvg":
        hparams = {**config["models"]["hyperparameters"]["mvg"], "image_size": args.size}
        model = build_model(name, generator=generator, device=device, **hparams)
        mvg = MVGSettings.of(run)
        params = param_groups(model, settings.lr, mvg.weight_decay, mvg.layer_decay)
        optimizer = torch.optim.AdamW(params, lr=settings.lr, **adam_kernel(device))  # as loop.train
        loss_fn, context = mvg_step_loss(model, mvg), (1, 1)
    else:
        model = build_model(name, generator=generator, device=device, channels=args.channels)
        if args.channels_last:
            model = model.to(memory_format=torch.channels_last)
        optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay,
                                      **adam_kernel(device))
        context = args.context if run.in_context else (0, 0)
    forward = torch.compile(model) if args.compile else model
    model.train()
    return Workload(model, forward, optimizer, settings, pools, setup, context, args.bf16, device, loss_fn)


def mvg_forward_flops(model: MVG) -> int:
    """FLOPs of one MVG canvas forward at batch 1 (a ``meta`` model: shapes only; attention counted)."""
    s, device = model.config.image_size, next(model.parameters()).device
    canvas = make_canvas(torch.zeros(1, 3, s, s, device=device), torch.zeros(1, 3, s, s, device=device))
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(canvas, canvas, ar_mask(1, model.config.grid, device=device))
    return counter.get_total_flops()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_pass(work: Workload, steps: range, breakdown: bool) -> tuple[float, float, list[int]]:
    """Wall time of ``steps``, the part spent in synthesis (if ``breakdown``, else 0), and each step's L."""
    device, synthesis, sizes = work.device, 0.0, []
    sync(device)
    start = time.perf_counter()
    for step in steps:
        if breakdown:
            sync(device)
        begin = time.perf_counter()
        batch = work.synth(step)
        if breakdown:
            sync(device)
            synthesis += time.perf_counter() - begin
        work.optimise(step, batch)
        sizes.append(batch.context_in.shape[1])
    sync(device)
    return time.perf_counter() - start, synthesis, sizes


def count_syncs(work: Workload, step: int) -> Counter[str]:
    """Synchronising CUDA calls of one step, by ``file:line`` of the Python caller."""
    counts: Counter[str] = Counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            work.optimise(step, work.synth(step))
        finally:
            torch.cuda.set_sync_debug_mode("default")
    for warning in caught:
        if "synchronizing" in str(warning.message):
            path = Path(warning.filename)
            where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            counts[f"{where}:{warning.lineno}"] += 1
    return counts


def count_round_trips(work: Workload, step: int) -> Counter[str]:
    """Host round trips of one step's device part on any device (:class:`HostSyncGuard`), by site."""
    guard = HostSyncGuard([t for p in work.pools for t in (p.images, p.labels, p.brain)])
    guard.allow(work.model.parameters())
    work.optimise(step, work.synth(step, guard), guard)
    return Counter(guard.violations)


def reset_peak_rss() -> None:
    """Reset the process's peak RSS to its current RSS (Linux); a no-op where that is not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    info = Path("/proc/cpuinfo")
    if info.is_file():
        lines = info.read_text().splitlines()
        names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
        cpu = names[0] if names else cpu
    return f"CPU {cpu}, {torch.get_num_threads()} torch threads"


def measure(name: str, args: argparse.Namespace, config: dict[str, Any]) -> Result:
    """Warm up, then time ``args.steps`` training steps of model ``name``."""
    device = torch.device(args.device)
    reset_peak_rss()
    work = workload(name, args, config, device)
    timed_pass(work, range(args.warmup), breakdown=False)
    measured = range(args.warmup, args.warmup + args.steps)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        wall, _, sizes = timed_pass(work, measured, breakdown=False)
        split_wall, synthesis, _ = timed_pass(work, measured, breakdown=True)  # the same steps again
        peak = torch.cuda.max_memory_allocated(device)
        sites = count_syncs(work, measured.stop)
    else:
        wall, synthesis, sizes = timed_pass(work, measured, breakdown=True)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        split_wall, sites = wall, count_round_trips(work, measured.stop)
    if name == "mvg":
        meta, channels = work.model.to("meta"), work.model.config.embed_dim
        flops = {size: mvg_forward_flops(meta) for size in set(sizes)}
    else:
        meta, channels = build_model(name, device="meta", channels=args.channels), args.channels
        flops = {size: inference_flops(meta, args.size, size) for size in set(sizes)}
    train_flops = TRAIN_FLOP_FACTOR * args.batch * sum(flops[size] for size in sizes)
    return Result(
        model=name, device=device_name(device), image_size=args.size, channels=channels, batch_size=args.batch,
        mean_context=float(np.mean(sizes)), step_s=wall / args.steps, samples_per_s=args.batch * args.steps / wall,
        synthesis_s=synthesis / args.steps, synthesis_share=synthesis / split_wall,
        train_tflops=train_flops / wall / 1e12,
        peak_memory_gib=peak / 2**30, syncs_per_step=sum(sites.values()), sync_sites=dict(sites),
    )


def markdown(results: list[Result], peak_tflops: float | None) -> str:
    """The results as a Markdown table (and, on CUDA, the synchronising source lines)."""
    lines = [
        "| model | H×W | C | B | mean L | step (ms) | samples/s | synthesis (ms) | synthesis share "
        "| train TFLOP/s | of peak | peak memory (GiB) | host syncs/step |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        share = f"{r.train_tflops / peak_tflops:.1%}" if peak_tflops else "–"
        syncs = str(r.syncs_per_step)
        lines.append(
            f"| {r.model} | {r.image_size}×{r.image_size} | {r.channels} | {r.batch_size} | {r.mean_context:g} "
            f"| {r.step_s * 1e3:.1f} | {r.samples_per_s:.3g} | {r.synthesis_s * 1e3:.1f} | {r.synthesis_share:.1%} "
            f"| {r.train_tflops:.3g} | {share} | {r.peak_memory_gib:.2f} | {syncs} |"
        )
    for r in results:
        if r.sync_sites:
            lines += ["", f"Host round trips of one {r.model} step (file:line: count):"]
            lines += [f"- {site}: {count}" for site, count in sorted(r.sync_sites.items())]
    return "\n".join(lines)


# --- bench/throughput.yaml -------------------------------------------------------------------------

HEADER = (
    "# Measured training throughput per model, read by the dry-run summary to estimate GPU-hours;\n"
    "# written by python -m bench.train_speed --write. null = not measured yet.\n"
)
FIELDS = ("samples_per_s", "device", "command", "measured")


def _scalar(value: Any) -> str:
    """``value`` as one YAML flow scalar (strings quoted where YAML would misread them)."""
    if isinstance(value, float):
        value = float(f"{value:.4g}")
    return yaml.safe_dump(value, default_flow_style=True, width=2**20).removesuffix("\n...\n").strip()


def _comment(rest: str) -> str:
    """The trailing comment (with its leading space) of a ``key: value # comment`` line's ``rest``, or ""."""
    for match in re.finditer(r"\s+#", rest):
        try:
            yaml.safe_load(rest[: match.start()])  # a " #" inside a quoted value leaves it unterminated
        except yaml.YAMLError:
            continue
        return rest[match.start() :]
    return ""


def update_throughput(path: str | Path, model: str, entry: dict[str, Any]) -> None:
    """Set the fields ``entry`` of ``model``'s mapping in ``path``, keeping every other line and comment.

    A missing file is created with null entries for neuralizer, unet and universeg; a missing model
    block or field is appended.
    """
    path = Path(path)
    if path.exists():
        lines = path.read_text().splitlines()
    else:
        lines = HEADER.splitlines() + [f"{m}:" if not f else f"  {f}: null" for m in (*MODELS, "universeg")
                                       for f in ("", *FIELDS)]
    starts = [i for i, line in enumerate(lines) if re.match(rf"{re.escape(model)}\s*:", line)]
    if not starts:
        lines.append(f"{model}:")
        starts = [len(lines) - 1]
    start = starts[0]
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"[^\s#]", lines[i])), len(lines))
    for key, value in entry.items():
        pattern = re.compile(rf"(\s+){re.escape(key)}\s*:(.*)")
        found = [i for i in range(start + 1, end) if pattern.fullmatch(lines[i])]
        if found:
            indent, rest = pattern.fullmatch(lines[found[0]]).groups()
            lines[found[0]] = f"{indent}{key}: {_scalar(value)}{_comment(rest)}"
        else:
            last = max([start, *(i for i in range(start + 1, end) if lines[i].strip())])
            lines.insert(last + 1, f"  {key}: {_scalar(value)}")
            end += 1
    text = "\n".join(lines) + "\n"
    written = (yaml.safe_load(text) or {}).get(model) or {}
    if any(written.get(key) != yaml.safe_load(_scalar(value)) for key, value in entry.items()):
        raise ValueError(f"{path}: could not update {model!r} in place (unexpected layout); fix the file by hand")
    path.write_text(text)


def throughput_entry(result: Result, command: str) -> dict[str, Any]:
    """The ``bench/throughput.yaml`` entry of one result (the device says CPU where it was one)."""
    device = f"{result.device} (not a GPU)" if result.device.startswith("CPU") else result.device
    return {
        "samples_per_s": result.samples_per_s, "device": device, "command": command,
        "measured": datetime.date.today().isoformat(), "image_size": result.image_size,
        "channels": result.channels, "batch_size": result.batch_size, "mean_context": result.mean_context,
    }


def load_config(path: str | Path) -> dict[str, Any]:
    """``path`` over ``config/config.yaml``, merged as Snakemake merges ``--configfile`` (``config/paper.yaml``
    sets only what differs from the default)."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    update_config(config, yaml.safe_load(Path(path).read_text()))
    return config


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(MODELS),
                   help=f"comma-separated subset of {','.join(MODELS + OPTIONAL_MODELS)}")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--batch", type=int, default=8, help="episodes B per step")
    p.add_argument("--context", type=parse_context, default=(16, 16),
                   help="L, or LOW-HIGH drawn per step (mean 16: 16 or 1-31; varying L recompiles under --compile)")
    p.add_argument("--size", type=int, default=192, help="H = W of the slices (paper: 192)")
    p.add_argument("--channels", type=int, default=64, help="model width C (paper: 64)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (cover torch.compile)")
    p.add_argument("--steps", type=int, default=10, help="measured steps")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=None,
                   help="bf16 autocast (default: as the loop, training.precision of --config)")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                   help="channels-last weights (default: on, as the loop)")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="torch.compile the model (default: training.compile, on CUDA)")
    p.add_argument("--peak-tflops", type=float, default=None, help="the device's peak (H100 SXM bf16 dense: 989)")
    p.add_argument("--unet-task", default="segmentation", help="the U-Net run's task")
    p.add_argument("--config", default="config/config.yaml",
                   help="its tasks, training and preprocess blocks (merged over config/config.yaml)")
    p.add_argument("--write", default=None, metavar="YAML", help="update the measured models' entries of this file")
    return p


def loop_defaults(args: argparse.Namespace, config: dict[str, Any]) -> None:
    """Fill the flags left unset (None) with what the training loop does on ``args.device`` under ``config``: bf16
    autocast as ``training.precision`` resolves, channels-last weights, ``torch.compile`` on CUDA if
    ``training.compile``."""
    device = torch.device(args.device)
    if args.bf16 is None:
        args.bf16 = autocast_dtype(config["training"]["precision"], device) is not None
    if args.channels_last is None:
        args.channels_last = True
    if args.compile is None:
        args.compile = device.type == "cuda" and bool(config["training"]["compile"])


def main(argv: list[str] | None = None) -> list[Result]:
    """Run the benchmark with command-line ``argv``; print the table; return the results."""
    p = parser()
    args = p.parse_args(argv)
    models = args.models.split(",")
    known = MODELS + OPTIONAL_MODELS
    if sorted(set(models) - set(known)):
        p.error(f"--models: unknown {sorted(set(models) - set(known))}; choose from {list(known)}")
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: CUDA is not available on this machine")
    if min(args.batch, args.size, args.channels, args.steps) < 1 or args.warmup < 0:
        p.error("--batch, --size, --channels and --steps must be >= 1 and --warmup >= 0")
    config = load_config(args.config)
    loop_defaults(args, config)
    torch.set_num_threads(args.threads)
    command = shlex.join(["python", "-m", "bench.train_speed", *(sys.argv[1:] if argv is None else argv)])
    print(f"command: {command}")
    print(f"settings: {vars(args)}")
    print(f"torch {torch.__version__}, python {platform.python_version()}, {device_name(torch.device(args.device))}\n")
    results = [measure(name, args, copy.deepcopy(config)) for name in models]
    print(markdown(results, args.peak_tflops), flush=True)
    if args.write:
        for result in results:
            update_throughput(args.write, result.model, throughput_entry(result, command))
        print(f"\nwrote {', '.join(models)} to {args.write}")
    return results


if __name__ == "__main__":
    main()
