"""Gather the per-subject slices of a dataset into the memory-mapped slice store."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, also in --sdm conda envs

from pathlib import Path

from neuroicl.data.cohort import read_participants
from neuroicl.logs import to_file
from neuroicl.preprocess.slices import gather

log = to_file(snakemake.log[0])
participants = read_participants(snakemake.input.participants)
files = {Path(path).stem: path for path in snakemake.input.slices}
sites = dict(zip(participants["participant_id"], participants["site"], strict=True))
index = gather(files, sites, list(snakemake.params.modalities), str(Path(snakemake.output.index).parent))
log.info("%d slices of %d subjects", len(index), index["subject"].nunique())
