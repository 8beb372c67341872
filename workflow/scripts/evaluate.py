"""Score one run on the test split (the same targets and contexts for every run); tidy metrics CSV + samples."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, also in --sdm conda envs

import numpy as np
import torch

from neuroicl.data.sources import open_datasets
from neuroicl.evaluation.cases import EvalSettings
from neuroicl.evaluation.evaluate import evaluate, evaluation_setup, predictor
from neuroicl.io import atomic_path
from neuroicl.logs import to_file
from neuroicl.runs import Run
from neuroicl.training.runner import pick_device

log = to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
config = snakemake.params.config
stores, splits = open_datasets(snakemake.params.datasets, snakemake.input.index, snakemake.input.splits)
run = Run.from_dict(snakemake.params.run)
device = pick_device(config["training"]["device"])
setups = {name: evaluation_setup(config, stores[name], splits[name], name) for name in stores}
predict = predictor(run, config, snakemake.input.get("model"), device)
columns = {"run": run.name, "model": run.model, "variant": run.variant, "all_subjects": run.subjects is None,
           "train_subjects": run.subjects or sum(len(split["train"]) for split in splits.values())}
metrics, samples = evaluate(predict, setups, list(run.eval_tasks), EvalSettings.from_config(config["evaluation"]),
                            columns, in_context=run.in_context, device=device, keep_samples=True)
log.info("run %s: %d metric rows", run.name, len(metrics))
with atomic_path(snakemake.output.samples) as temporary, open(temporary, "wb") as handle:
    np.savez_compressed(handle, **samples)
with atomic_path(snakemake.output.metrics) as temporary:
    metrics.to_csv(temporary, index=False, float_format="%.6g")
