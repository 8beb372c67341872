"""MetaSeg's and the U-Net's Dice when the test image is rotated or moved (image and mask together)."""

import torch

from neuroicl.core.io import atomic_path
from neuroicl.core.logs import to_file
from neuroicl.data.sources import open_datasets
from neuroicl.evaluation.metaseg_study import misalignment, study_targets
from neuroicl.evaluation.predictors import predictor
from neuroicl.paper.metaseg_study import misalignment_markdown, summarize
from neuroicl.plan.runs import Run
from neuroicl.plots import PNG_DPI
from neuroicl.plots.metaseg import misalignment_figure

log = to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
study = snakemake.params.study
stores, splits = open_datasets(study["datasets"], snakemake.input.index, snakemake.input.splits)
targets = study_targets(study["config"], stores, splits, study["labels"], study["repeats"])
predictors = {key: predictor(Run.from_dict(given["run"]), given["config"], snakemake.input[key], "cpu")
              for key, given in snakemake.params.runs.items()}
table = misalignment(predictors, targets, snakemake.params.rotations, snakemake.params.translations)
names = {"MetaSeg": "metaseg", "U-Net": "unet"}
log.info("%d rows on %d targets", len(table), sum(len(t.images) for t in targets))
with atomic_path(snakemake.output.csv) as temporary:
    table.to_csv(temporary, index=False, float_format="%.4f", lineterminator="\n")
with atomic_path(snakemake.output.md) as temporary:
    temporary.write_text(misalignment_markdown(summarize(table, ["model", "kind", "level"]), names))
figure = misalignment_figure(table, names)
with atomic_path(snakemake.output.pdf) as temporary:
    figure.savefig(temporary)
with atomic_path(snakemake.output.png) as temporary:
    figure.savefig(temporary, dpi=PNG_DPI["performance"])
