"""Adapt a real dataset's fetched archives to the common raw layout under resources/<dataset>/."""

import json
from pathlib import Path

from neuroicl.core.logs import to_file
from neuroicl.datasets.adapters import adapt

log = to_file(snakemake.log[0])
receipts = [json.loads(Path(path).read_text()) for path in snakemake.input]
sources = {receipt["entry"]: receipt["path"] for receipt in receipts}
root = str(Path(snakemake.output.participants).parent)
params = snakemake.params
log.info("adapting %s from %s into %s", params.kind, sources, root)
result = adapt(params.kind, sources, root, params.n_subjects, registry_path=params.registry)
log.info("kept %d subjects, skipped %d (why: %s)", len(result.kept), len(result.skipped), snakemake.output.report)
