"""Cohort QC figure: each modality for the first subjects of every site."""

from neuroicl.core.io import atomic_path
from neuroicl.core.logs import to_file
from neuroicl.data.cohort import read_participants
from neuroicl.plots import PNG_DPI
from neuroicl.plots.cohort import cohort_figure

log = to_file(snakemake.log[0])
participants = read_participants(snakemake.input.participants)
paths = iter(snakemake.input.images)
images = {(s, m): next(paths) for s in snakemake.params.subjects for m in snakemake.params.modalities}
with atomic_path(snakemake.output[0]) as temporary:
    cohort_figure(participants, images).savefig(temporary, dpi=PNG_DPI["cohort"])
