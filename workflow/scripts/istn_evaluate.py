"""ISTN's study: scores of one task and pair — T_S on the source test split (the ceiling) and on the target, each
adapted model on the target (whose images are not modified)."""

from neuroicl.core.io import atomic_path
from neuroicl.core.logs import to_file
from neuroicl.data.domains import open_study_data
from neuroicl.evaluation.istn_study import SOURCE, score_pair
from neuroicl.plan.istn_study import ISTNStudy
from neuroicl.training.istn_job import setup

log = to_file(snakemake.log[0])
setup(snakemake.threads)
study = ISTNStudy.from_dict(snakemake.params.study)
store, participants, splits = open_study_data(snakemake.input.index, snakemake.input.participants,
                                              snakemake.input.splits)
models = {SOURCE: snakemake.input.source, **dict(zip(study.variant_names(), snakemake.input.adapted, strict=True))}
table = score_pair(study, snakemake.wildcards.task, snakemake.wildcards.pair, store, participants, splits, models)
log.info("%d rows: %s", len(table), table.groupby(["model", "domain"])["value"].mean().round(4).to_dict())
with atomic_path(snakemake.output[0]) as temporary:
    table.to_csv(temporary, index=False, float_format="%.6g", lineterminator="\n")
