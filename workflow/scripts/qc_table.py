"""One QC table per dataset from the per-subject rows."""

import pandas as pd

from neuroicl.core.io import write_tsv
from neuroicl.core.logs import to_file

log = to_file(snakemake.log[0])
table = pd.concat([pd.read_csv(path, sep="\t", dtype={"subject": str}) for path in snakemake.input], ignore_index=True)
log.info("summary:\n%s", table.describe().T.round(3).to_string())
write_tsv(snakemake.output[0], table)
