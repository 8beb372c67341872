"""DDP in one training job: two real torchrun workers on the CPU (gloo backend), no mocks, no GPU."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from neuroicl.core.io import write_json, write_tsv
from neuroicl.models.model_file import load_networks
from neuroicl.plan.runs import by_name, catalogue
from neuroicl.tasks.episodes import stable_seed
from neuroicl.training.checkpoint import CheckpointStore, fingerprint
from neuroicl.training.distributed import launch_job
from neuroicl.training.episodic import checkpoint_key, settings_for
from neuroicl.training.job import TrainJob
from neuroicl.training.loop import step_generators
from neuroicl.training.world import World
from tests.helpers.toy import toy_pool, toy_split, toy_store

#: A test-only worker: the real worker entry point, then this rank's weights in ``<out>/rank-<r>.pt``.
WORKER = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    import torch
    from neuroicl.training import distributed
    networks = distributed.main(sys.argv[1:2])
    states = {label: {k: v.detach().cpu() for k, v in net.state_dict().items()} for label, net in networks.items()}
    torch.save(states, Path(sys.argv[2], f"rank-{os.environ['RANK']}.pt"))
    """
)


def _same_weights(networks: dict[str, torch.nn.Module], path: Path) -> bool:
    """Whether ``networks`` hold exactly the weights a worker saved in ``path``."""
    saved = torch.load(path)
    return saved.keys() == networks.keys() and all(
        torch.equal(value, saved[label][name])
        for label, net in networks.items()
        for name, value in net.state_dict().items()
    )


def _write_toy_dataset(folder: Path) -> tuple[list[str], list[str], str]:
    """A toy slice store (4 subjects) and split on disk; return the store files, its index.tsv, the split file."""
    pool = toy_pool(subjects=4)
    store = toy_store(pool)
    for name in ("images", "mask", "labels"):
        np.save(folder / f"{name}.npy", getattr(store, name))
    write_json(folder / "meta.json", {"modalities": store.modalities, "shape": list(store.images.shape[2:])})
    write_tsv(folder / "index.tsv", store.index)
    write_json(folder / "split.json", toy_split(pool, 3))
    files = [str(folder / name) for name in ("images.npy", "mask.npy", "labels.npy", "meta.json", "index.tsv")]
    return files, [str(folder / "index.tsv")], str(folder / "split.json")


def _job(config: dict, folder: Path, batch_size: int = 2) -> TrainJob:
    """Neuralizer-seen at a toy size: 4 steps of 2 episodes, checkpoints at steps 2 and 4."""
    run = replace(by_name(catalogue(config, n_train=3), "neuralizer-seen"), steps=4, batch_size=batch_size)
    (folder / "data").mkdir(parents=True, exist_ok=True)
    store, index, split = _write_toy_dataset(folder / "data")
    return TrainJob(
        run=run.to_dict(),
        config=config,
        datasets=["toy"],
        index=index,
        splits=[split],
        store=store,
        model=str(folder / "out" / "model.pt"),
        log=str(folder / "out" / "log.csv"),
        checkpoints=str(folder / "checkpoints"),
        threads=2,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory, config_loader):
    """One job trained by two workers (the test worker above); its job, folder and the torchrun output."""
    folder = tmp_path_factory.mktemp("ddp")
    job = _job(config_loader(), folder)
    (folder / "out").mkdir()
    job.write(folder / "spec.json")
    (folder / "worker.py").write_text(WORKER)
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node=2",
        str(folder / "worker.py"),
        str(folder / "spec.json"),
        str(folder / "out"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return job, folder, done.stdout + done.stderr


def test_two_workers_train_one_model_and_rank_0_alone_writes_it(trained):
    job, folder, output = trained
    model = load_networks(job.model)
    assert _same_weights(model, folder / "out" / "rank-0.pt")
    assert _same_weights(model, folder / "out" / "rank-1.pt"), "the replicas' weights differ"
    log = pd.read_csv(job.log)
    assert log["step"].tolist() == [2, 4] and np.isfinite(log["loss"]).all()
    assert "rank 0 INFO done: 2 log rows" in output and "rank 1 INFO done" not in output
    key = os.listdir(Path(job.checkpoints) / "neuralizer-seen")
    assert len(key) == 1 and CheckpointStore(Path(job.checkpoints) / "neuralizer-seen", key[0]).steps() == [2, 4]


def test_a_job_cut_off_after_a_checkpoint_resumes_to_the_same_weights(trained, tmp_path):
    """As after a SLURM time-out: the step-2 checkpoint is the newest; the rerun (the real launcher) ends
    with the weights of the uninterrupted job."""
    job, folder, _ = trained
    shutil.copytree(job.checkpoints, tmp_path / "checkpoints")
    for path in (tmp_path / "checkpoints").rglob("step-00000004.pt"):
        path.unlink()
    rerun = replace(
        job, model=str(tmp_path / "model.pt"), log=str(tmp_path / "log.csv"), checkpoints=str(tmp_path / "checkpoints")
    )
    with open(tmp_path / "train.log", "w", buffering=1) as log:
        log.write("the rule's own first line\n")
        launch_job(rerun, 2, log)
    text = (tmp_path / "train.log").read_text()
    assert text.startswith("the rule's own first line\n")
    assert text.count("resuming from the checkpoint of step 2") == 2  # both ranks load it
    assert _same_weights(load_networks(rerun.model), folder / "out" / "rank-0.pt")
    assert pd.read_csv(rerun.log)["loss"].tolist() == pd.read_csv(job.log)["loss"].tolist()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["checkpoints", "log.csv", "model.pt", "train.log"]


def test_a_batch_not_divisible_by_the_workers_fails_naming_the_log(tmp_path, test_config):
    job = _job(test_config, tmp_path, batch_size=3)
    with open(tmp_path / "train.log", "w", buffering=1) as log, pytest.raises(RuntimeError, match="train.log"):
        launch_job(job, 2, log)
    assert "batch size 3 is not divisible by the 2 DDP processes" in (tmp_path / "train.log").read_text()
    assert not Path(job.model).exists() and not list((tmp_path / "out").glob(".*spec*"))


def test_a_job_spec_keeps_the_order_of_the_config(tmp_path, test_config):
    """The workers read the config in its order (task weights, the augmentation tree), not sorted."""
    job = _job(test_config, tmp_path)
    job.write(tmp_path / "spec.json")
    again = TrainJob.read(tmp_path / "spec.json")
    assert again == job
    tree = job.config["tasks"]["augmentations"]["tree"]
    assert list(again.config["tasks"]["augmentations"]["tree"]) == list(tree) != sorted(tree)
    assert list(again.run["weights"]) == list(job.run["weights"]) != sorted(job.run["weights"])


def test_world_comes_from_torchruns_environment():
    assert World.from_env({}) == World(rank=0, size=1, local_rank=0)
    assert World.from_env({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}) == World(3, 4, 1)
    with pytest.raises(ValueError, match="WORLD_SIZE='two'"):
        World.from_env({"WORLD_SIZE": "two"})
    with pytest.raises(ValueError, match="0 <= rank < size"):
        World.from_env({"RANK": "2", "WORLD_SIZE": "2"})


def test_each_rank_synthesises_its_share_of_the_batch():
    assert [World(rank, 2, rank).shard(6) for rank in (0, 1)] == [slice(0, 3), slice(3, 6)]
    assert World().shard(5) == slice(0, 5)
    with pytest.raises(ValueError, match="neuralizer-seen: batch size 5 is not divisible by the 2 DDP processes"):
        World(0, 2, 0).shard(5, "neuralizer-seen")


def test_one_process_keeps_the_seeds_and_checkpoint_keys_of_before(root):
    cpu = torch.device("cpu")
    (_, old), (_, one) = step_generators(7, 3, cpu), step_generators(7, 3, cpu, World())
    assert old.initial_seed() == one.initial_seed() == stable_seed("train", 7, 3)
    seeds = {step_generators(7, 3, cpu, World(rank, 2, rank))[1].initial_seed() for rank in (0, 1)}
    assert len(seeds) == 2 and stable_seed("train", 7, 3) not in seeds
    config = yaml.safe_load((root / "config" / "config.yaml").read_text())
    run = by_name(catalogue(config, 6), "neuralizer-seen")
    settings = settings_for(run, config["training"])
    before = fingerprint(
        {  # the key of one process as it was before DDP (checkpoints on disk stay valid)
            "run": {k: v for k, v in asdict(run).items() if k != "settings"},  # before runs had trainer settings
            "label": "",
            "settings": asdict(settings),
            "subjects": ["sub-001"],
            "data": None,
            "hparams": config["models"]["hyperparameters"]["neuralizer"],
            "tasks": config["tasks"],
            "evaluation": None,
            "axis": config["preprocess"]["slices"]["axis"],
            "device": config["training"]["device"],
        }
    )
    assert checkpoint_key(run, config, "", settings, ["sub-001"], None) == before
    assert checkpoint_key(run, config, "", settings, ["sub-001"], None, processes=2) != before
