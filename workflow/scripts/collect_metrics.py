"""Every run's metrics in one tidy table (the input of Table 4 and Figs. 4 and 12)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, also in --sdm conda envs

import pandas as pd

from neuroicl.io import atomic_path
from neuroicl.logs import to_file

log = to_file(snakemake.log[0])
tables = [pd.read_csv(path, keep_default_na=False, na_values={"context_size": [""]}) for path in snakemake.input]
table = pd.concat(tables, ignore_index=True)
log.info("%d rows from %d runs", len(table), len(tables))
with atomic_path(snakemake.output[0]) as temporary:
    table.to_csv(temporary, index=False, float_format="%.6g")
