"""One QC table per dataset from the per-subject rows."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, also in --sdm conda envs

import pandas as pd

from neuroicl.io import write_tsv
from neuroicl.logs import to_file

log = to_file(snakemake.log[0])
table = pd.concat([pd.read_csv(path, sep="\t", dtype={"subject": str}) for path in snakemake.input], ignore_index=True)
log.info("summary:\n%s", table.describe().T.round(3).to_string())
write_tsv(snakemake.output[0], table)
