"""MetaSeg's initialisation ablation (its Table 2): random, one image's fit, image-only meta-learning, MetaSeg.

The rows the Dice-against-T table already holds at the ablation's T (MetaSeg's, the random initialisation's) are
read from it, not fitted again."""

import pandas as pd
import torch

from neuroicl.core.io import atomic_path
from neuroicl.core.logs import to_file
from neuroicl.data.sources import open_datasets
from neuroicl.evaluation.metaseg_study import ablation, study_targets
from neuroicl.models.model_file import load_networks
from neuroicl.paper.metaseg_study import ablation_markdown, summarize

log = to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
study = snakemake.params.study
stores, splits = open_datasets(study["datasets"], snakemake.input.index, snakemake.input.splits)
targets = study_targets(study["config"], stores, splits, study["labels"], study["repeats"])
names = snakemake.params.names  # legend -> run, in the order of the inputs' models
models = {run: load_networks(path) for run, path in zip(names.values(), snakemake.input.models, strict=True)}
table = ablation(models, targets, known=pd.read_csv(snakemake.input.steps))
log.info("%d rows on %d targets", len(table), sum(len(t.images) for t in targets))
with atomic_path(snakemake.output.csv) as temporary:
    table.to_csv(temporary, index=False, float_format="%.4f", lineterminator="\n")
with atomic_path(snakemake.output.md) as temporary:
    temporary.write_text(ablation_markdown(summarize(table, ["model"]), names))
