"""ISTN's Tables 2-3: per task and pair, each ISTN mode x direction x init against no adaptation and the single-site
ceiling (CSV summary, Markdown tables)."""

import pandas as pd

from neuroicl.core.io import atomic_path
from neuroicl.core.logs import to_file
from neuroicl.paper.istn_study import summarize, tables_markdown

log = to_file(snakemake.log[0])
summary = summarize(pd.concat([pd.read_csv(path) for path in snakemake.input], ignore_index=True))
log.info("%d summary rows", len(summary))
with atomic_path(snakemake.output.csv) as temporary:
    summary.to_csv(temporary, index=False, float_format="%.4f", lineterminator="\n")
with atomic_path(snakemake.output.md) as temporary:
    temporary.write_text(tables_markdown(summary))
