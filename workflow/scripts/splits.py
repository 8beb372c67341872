"""Subject-level train/val/test split of a dataset, stratified by site."""

from neuroicl.core.io import write_json
from neuroicl.core.logs import to_file
from neuroicl.data.cohort import read_participants
from neuroicl.data.splits import check_disjoint, make_splits

log = to_file(snakemake.log[0])
participants = read_participants(snakemake.input.participants)
splits = make_splits(participants, snakemake.params.splits["fractions"], snakemake.params.splits["seed"])
check_disjoint(splits, snakemake.output[0])
log.info("%s", {part: len(ids) for part, ids in splits.items()})
write_json(snakemake.output[0], splits)
