"""Figures 6–8: qualitative test samples (target, prediction, ground truth, context), the tasks split in three."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, also in --sdm conda envs

import numpy as np
from matplotlib import pyplot as plt

from neuroicl.io import atomic_path
from neuroicl.logs import to_file
from neuroicl.plots.samples import sample_figure, split_tasks

log = to_file(snakemake.log[0])
with np.load(snakemake.input.samples) as data:
    samples = {key: data[key] for key in data.files}
outputs = [(snakemake.output.fig6, snakemake.output.png6), (snakemake.output.fig7, snakemake.output.png7),
           (snakemake.output.fig8, snakemake.output.png8)]  # fmt: skip
for tasks, (pdf, png) in zip(split_tasks(list(snakemake.params.tasks), len(outputs)), outputs, strict=True):
    log.info("%s: %s", pdf, tasks)
    figure = sample_figure(samples, tasks, snakemake.params.context_pairs)
    with atomic_path(pdf) as temporary:
        figure.savefig(temporary)
    with atomic_path(png) as temporary:
        figure.savefig(temporary, dpi=150)
    plt.close(figure)
