"""Score one run on the test split (rule evaluate) or the validation split (evaluate_val); the same targets and
contexts for every run; tidy metrics CSV + samples."""

import torch

from neuroicl.core.device import pick_device
from neuroicl.core.logs import to_file
from neuroicl.data.sources import open_datasets
from neuroicl.evaluation.job import evaluate_run, write_outputs
from neuroicl.plan.runs import Run

log = to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
config = snakemake.params.config
stores, splits = open_datasets(snakemake.params.datasets, snakemake.input.index, snakemake.input.splits)
run = Run.from_dict(snakemake.params.run)
device = pick_device(config["training"]["device"])
part = snakemake.params.part
metrics, samples = evaluate_run(run, config, stores, splits, snakemake.input.get("model"), device, part)
log.info("run %s on the %s split: %d metric rows", run.name, part, len(metrics))
write_outputs(metrics, samples, snakemake.output.metrics, snakemake.output.samples)
