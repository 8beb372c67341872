"""Adapt a local BIDS folder (kind: bids) to the common raw layout under resources/<dataset>/."""

from pathlib import Path

from neuroicl.core.logs import to_file
from neuroicl.datasets.adapters.bids import adapt_bids

log = to_file(snakemake.log[0])
params = snakemake.params
root = str(Path(snakemake.output.participants).parent)
log.info("adapting BIDS folder %s (%s, labelled: %s) into %s", params.path, params.modalities, params.labelled, root)
result = adapt_bids(params.path, root, params.n_subjects, params.modalities, params.labelled)
log.info("kept %d subjects, skipped %d (why: %s)", len(result.kept), len(result.skipped), snakemake.output.report)
