"""Table 4: each model's score per task against the train/context set size (CSV summary, Markdown, LaTeX)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, also in --sdm conda envs

from neuroicl.io import atomic_path
from neuroicl.logs import to_file
from neuroicl.paper.table4 import read_metrics, summarize, to_latex, to_markdown

log = to_file(snakemake.log[0])
summary = summarize(read_metrics(snakemake.input.metrics))
log.info("%d rows; variants %s; tasks %s", len(summary), *(summary[c].unique().tolist() for c in ("variant", "task")))
with atomic_path(snakemake.output.csv) as temporary:
    summary.to_csv(temporary, index=False, float_format="%.4f", lineterminator="\n")
with atomic_path(snakemake.output.md) as temporary:
    temporary.write_text(to_markdown(summary))
with atomic_path(snakemake.output.tex) as temporary:
    temporary.write_text(to_latex(summary))
