"""Gather the per-subject slices of a dataset into the memory-mapped slice store."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, also in --sdm conda envs

from pathlib import Path

import pandas as pd

from neuroicl.logs import to_file
from neuroicl.preprocess.slices import gather

log = to_file(snakemake.log[0])
participants = pd.read_csv(snakemake.input.participants, sep="\t", dtype={"participant_id": str})
files = {Path(path).stem: path for path in snakemake.input.slices}
sites = dict(zip(participants["participant_id"], participants["site"], strict=True))
index = gather(files, sites, list(snakemake.params.modalities), str(Path(snakemake.output.index).parent))
log.info("%d slices of %d subjects", len(index), index["subject"].nunique())
