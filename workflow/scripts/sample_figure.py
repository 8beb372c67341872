"""Figure 6, 7 or 8: qualitative test samples (target, prediction, ground truth, context) of a third of the tasks."""

import numpy as np

from neuroicl.core.io import atomic_path
from neuroicl.core.logs import to_file
from neuroicl.plots import PNG_DPI
from neuroicl.plots.samples import figure_tasks, sample_figure

log = to_file(snakemake.log[0])
with np.load(snakemake.input.samples) as data:
    samples = {key: data[key] for key in data.files}
tasks = figure_tasks(snakemake.wildcards.figure, list(snakemake.params.tasks))
log.info("%s: %s", snakemake.wildcards.figure, tasks)
figure = sample_figure(samples, tasks, snakemake.params.context_pairs)
with atomic_path(snakemake.output.pdf) as temporary:
    figure.savefig(temporary)
with atomic_path(snakemake.output.png) as temporary:
    figure.savefig(temporary, dpi=PNG_DPI["samples"])
