"""Gather the per-subject slices of a dataset into the memory-mapped slice store."""

from pathlib import Path

from neuroicl.core.logs import to_file
from neuroicl.data.cohort import read_participants
from neuroicl.data.slice_store import gather

log = to_file(snakemake.log[0])
participants = read_participants(snakemake.input.participants)
files = {Path(path).stem: path for path in snakemake.input.slices}
sites = dict(zip(participants["participant_id"], participants["site"], strict=True))
index = gather(files, sites, list(snakemake.params.modalities), str(Path(snakemake.output.index).parent))
log.info("%d slices of %d subjects", len(index), index["subject"].nunique())
