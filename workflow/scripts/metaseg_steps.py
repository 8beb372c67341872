"""MetaSeg's Dice against the test-time fitting steps T, meta-learned and random initialisation (its Fig. 2)."""

import torch

from neuroicl.core.io import atomic_path
from neuroicl.core.logs import to_file
from neuroicl.data.sources import open_datasets
from neuroicl.evaluation.metaseg_study import dice_vs_steps, study_targets
from neuroicl.models.model_file import load_networks
from neuroicl.paper.metaseg_study import steps_markdown, summarize
from neuroicl.plots import PNG_DPI
from neuroicl.plots.metaseg import steps_figure

log = to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
study = snakemake.params.study
stores, splits = open_datasets(study["datasets"], snakemake.input.index, snakemake.input.splits)
targets = study_targets(study["config"], stores, splits, study["labels"], study["repeats"])
names = snakemake.params.names  # legend -> run: the inputs meta, random
models = {names["MetaSeg"]: load_networks(snakemake.input.meta),
          names["Random init"]: load_networks(snakemake.input.random)}
table = dice_vs_steps(models, targets, snakemake.params.steps)
log.info("%d rows on %d targets", len(table), sum(len(t.images) for t in targets))
with atomic_path(snakemake.output.csv) as temporary:
    table.to_csv(temporary, index=False, float_format="%.4f", lineterminator="\n")
with atomic_path(snakemake.output.md) as temporary:
    temporary.write_text(steps_markdown(summarize(table, ["model", "steps"]), names))
figure = steps_figure(table, names)
with atomic_path(snakemake.output.pdf) as temporary:
    figure.savefig(temporary)
with atomic_path(snakemake.output.png) as temporary:
    figure.savefig(temporary, dpi=PNG_DPI["performance"])
