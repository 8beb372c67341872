"""Table 4: each model's score per task against the train/context set size (CSV summary, Markdown, LaTeX)."""

from neuroicl.core.io import atomic_path
from neuroicl.core.logs import to_file
from neuroicl.evaluation import metrics_table
from neuroicl.paper.table4 import summarize, to_latex, to_markdown

log = to_file(snakemake.log[0])
summary = summarize(metrics_table.read(snakemake.input.metrics), spread="cases")  # its caption: ± across cases
log.info("%d rows; variants %s; tasks %s", len(summary), *(summary[c].unique().tolist() for c in ("variant", "task")))
with atomic_path(snakemake.output.csv) as temporary:
    summary.to_csv(temporary, index=False, float_format="%.4f", lineterminator="\n")
with atomic_path(snakemake.output.md) as temporary:
    temporary.write_text(to_markdown(summary))
with atomic_path(snakemake.output.tex) as temporary:
    temporary.write_text(to_latex(summary))
