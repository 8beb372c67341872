"""Figure: score against the train/context set size per task (Fig. 4: all modalities; Fig. 12: T1w only)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, also in --sdm conda envs

from neuroicl.io import atomic_path
from neuroicl.logs import to_file
from neuroicl.paper.table4 import read_metrics
from neuroicl.plots.curves import performance_figure

log = to_file(snakemake.log[0])
modality = snakemake.params.modality
log.info("modality filter: %s", modality)
figure = performance_figure(read_metrics(snakemake.input.metrics), modality, snakemake.params.title)
with atomic_path(snakemake.output.pdf) as temporary:  # the temporary name keeps the suffix: matplotlib's format
    figure.savefig(temporary)
with atomic_path(snakemake.output.png) as temporary:
    figure.savefig(temporary, dpi=150)
