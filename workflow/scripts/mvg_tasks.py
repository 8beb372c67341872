"""MVG on each task it is trained on, at L = 1, in its paper's metrics, next to the floor and the input itself."""

from neuroicl.core.io import atomic_path
from neuroicl.core.logs import to_file
from neuroicl.evaluation import metrics_table
from neuroicl.paper.mvg_study import tasks_markdown, tasks_table

log = to_file(snakemake.log[0])
metrics = metrics_table.concat(list(snakemake.input))  # MVG's, the floor's and the identity's metrics
table = tasks_table(metrics, snakemake.params.tasks, snakemake.params.names)
log.info("%d rows on tasks %s", len(table), table["task"].unique().tolist())
with atomic_path(snakemake.output.csv) as temporary:
    table.to_csv(temporary, index=False, float_format="%.4f", lineterminator="\n")
with atomic_path(snakemake.output.md) as temporary:
    temporary.write_text(tasks_markdown(table))
