"""ISTN's study: one adaptation (an ISTN source -> target, adversarially, with the task model of every init retrained
on its output and selected on transformed source validation slices; no target label is read); resumes from its
checkpoints; the model files are written last."""

from neuroicl.core.logs import to_file
from neuroicl.data.domains import open_study_data
from neuroicl.plan.istn_study import ISTNStudy
from neuroicl.training.checkpoint import file_stamp
from neuroicl.training.istn_job import run_adaptation, setup

log = to_file(snakemake.log[0])
setup(snakemake.threads)
study = ISTNStudy.from_dict(snakemake.params.study)
store, participants, splits = open_study_data(snakemake.input.index, snakemake.input.participants,
                                              snakemake.input.splits)
models = dict(zip(snakemake.params.inits, snakemake.output.models, strict=True))
run_adaptation(study, snakemake.wildcards.task, snakemake.wildcards.pair, snakemake.wildcards.adaptation, store,
               participants, splits, models, snakemake.output.log, snakemake.params.checkpoints,
               snakemake.input.get("source"), file_stamp(snakemake.input.store))
