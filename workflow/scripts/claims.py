"""The claims table: each claim of the paper this config can test, its numbers and PASS/FAIL (CSV, Markdown)."""

import pandas as pd

from neuroicl.core.io import atomic_path
from neuroicl.core.logs import to_file
from neuroicl.evaluation import metrics_table
from neuroicl.paper import istn_study, metaseg_study, mvg_study
from neuroicl.paper.claims import claims, to_markdown
from neuroicl.paper.table4 import summarize

log = to_file(snakemake.log[0])
extra = []
if "metaseg_steps" in snakemake.input.keys():  # MetaSeg's study
    steps = metaseg_study.summarize(pd.read_csv(snakemake.input.metaseg_steps), ["model", "steps"])
    ablation = metaseg_study.summarize(pd.read_csv(snakemake.input.metaseg_ablation), ["model"])
    extra = metaseg_study.study_claims(steps, ablation, **snakemake.params.study_models)
if "mvg_tasks" in snakemake.input.keys():  # MVG's own outputs (and its ablation, where the config has it)
    mvg_ablation = pd.read_csv(snakemake.input.mvg_ablation) if "mvg_ablation" in snakemake.input.keys() else None
    extra += mvg_study.mvg_claims(mvg_ablation, pd.read_csv(snakemake.input.mvg_tasks))
if "istn" in snakemake.input.keys():  # ISTN's study
    extra += istn_study.istn_claims(pd.read_csv(snakemake.input.istn))
table = claims(summarize(metrics_table.read(snakemake.input.metrics)), extra)
log.info("%s", table["verdict"].value_counts().to_dict())
with atomic_path(snakemake.output.csv) as temporary:
    table.to_csv(temporary, index=False, float_format="%.4f", lineterminator="\n")
with atomic_path(snakemake.output.md) as temporary:
    temporary.write_text(to_markdown(table, snakemake.params.part))
