"""Subject-level train/val/test split of a dataset, stratified by site."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, also in --sdm conda envs

from neuroicl.data.cohort import read_participants
from neuroicl.io import write_json
from neuroicl.logs import to_file
from neuroicl.splits import check_disjoint, make_splits

log = to_file(snakemake.log[0])
participants = read_participants(snakemake.input.participants)
splits = make_splits(participants, snakemake.params.splits["fractions"], snakemake.params.splits["seed"])
check_disjoint(splits, snakemake.output[0])
log.info("%s", {part: len(ids) for part, ids in splits.items()})
write_json(snakemake.output[0], splits)
