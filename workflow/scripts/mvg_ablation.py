"""MVG's Table 5 ablation: mask strategy, colours, unified vs isolated training; Dice and mIoU at L = 1."""

from neuroicl.core.io import atomic_path
from neuroicl.core.logs import to_file
from neuroicl.evaluation import metrics_table
from neuroicl.paper.mvg_study import ablation_markdown, ablation_table

log = to_file(snakemake.log[0])
metrics = metrics_table.concat(list(snakemake.input))  # the runs' own metrics, scored by rule evaluate
table = ablation_table(metrics, [tuple(row) for row in snakemake.params.rows])
log.info("%d rows from runs %s", len(table), table["run"].unique().tolist())
with atomic_path(snakemake.output.csv) as temporary:
    table.to_csv(temporary, index=False, float_format="%.4f", lineterminator="\n")
with atomic_path(snakemake.output.md) as temporary:
    temporary.write_text(ablation_markdown(table))
