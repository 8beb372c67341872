"""Train one run of the comparison; resume from its last checkpoint; write the model file last."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, also in --sdm conda envs

import pandas as pd
import torch

from neuroicl.data.sources import open_datasets
from neuroicl.io import atomic_path
from neuroicl.logs import to_file
from neuroicl.runs import Run
from neuroicl.training.checkpoint import file_stamp
from neuroicl.training.runner import fit, save_networks

log = to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
config = snakemake.params.config
stores, splits = open_datasets(snakemake.params.datasets, snakemake.input.index, snakemake.input.splits)
run = Run.from_dict(snakemake.params.run)
stamp = file_stamp(list(snakemake.input.store))  # every dataset's store files
log.info("run %s: %s", run.name, run)
networks, rows = fit(run, config, stores, splits, snakemake.params.checkpoints, stamp)
with atomic_path(snakemake.output.log) as temporary:
    pd.DataFrame(rows).to_csv(temporary, index=False, float_format="%.6g")
save_networks(snakemake.output.model, run, config["models"]["hyperparameters"][run.model], networks)
log.info("done: %d log rows, final loss %.4f", len(rows), rows[-1]["loss"])
