"""Figure: score against the train/context set size per task (Fig. 4: all modalities; Fig. 12: T1w only)."""

from neuroicl.core.io import atomic_path
from neuroicl.core.logs import to_file
from neuroicl.evaluation import metrics_table
from neuroicl.plots import PNG_DPI
from neuroicl.plots.curves import FIGURES, performance_figure

log = to_file(snakemake.log[0])
modality, title = FIGURES[snakemake.wildcards.figure]
log.info("modality filter: %s", modality)
figure = performance_figure(metrics_table.read(snakemake.input.metrics), modality, title)
with atomic_path(snakemake.output.pdf) as temporary:  # the temporary name keeps the suffix: matplotlib's format
    figure.savefig(temporary)
with atomic_path(snakemake.output.png) as temporary:
    figure.savefig(temporary, dpi=PNG_DPI["performance"])
