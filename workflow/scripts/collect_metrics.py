"""Every run's metrics in one tidy table (the input of Table 4 and Figs. 4 and 12)."""

from neuroicl.core.logs import to_file
from neuroicl.evaluation import metrics_table

log = to_file(snakemake.log[0])
table = metrics_table.concat(list(snakemake.input))
log.info("%d rows from %d runs", len(table), len(snakemake.input))
metrics_table.write(table, snakemake.output[0])
