"""The claims table: each claim of the paper this config can test, its numbers and PASS/FAIL (CSV, Markdown)."""

from neuroicl.core.io import atomic_path
from neuroicl.core.logs import to_file
from neuroicl.evaluation import metrics_table
from neuroicl.paper.claims import claims, to_markdown
from neuroicl.paper.table4 import summarize

log = to_file(snakemake.log[0])
table = claims(summarize(metrics_table.read(snakemake.input.metrics)))
log.info("%s", table["verdict"].value_counts().to_dict())
with atomic_path(snakemake.output.csv) as temporary:
    table.to_csv(temporary, index=False, float_format="%.4f", lineterminator="\n")
with atomic_path(snakemake.output.md) as temporary:
    temporary.write_text(to_markdown(table))
