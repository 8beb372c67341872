"""ISTN's study: the source task model T_S of one task on one site, selected on its validation slices; resumes from
its checkpoints; the model file is written last."""

from neuroicl.core.logs import to_file
from neuroicl.data.domains import open_study_data
from neuroicl.plan.istn_study import ISTNStudy
from neuroicl.training.checkpoint import file_stamp
from neuroicl.training.istn_job import run_source, setup

log = to_file(snakemake.log[0])
setup(snakemake.threads)
study = ISTNStudy.from_dict(snakemake.params.study)
store, participants, splits = open_study_data(snakemake.input.index, snakemake.input.participants,
                                              snakemake.input.splits)
run_source(study, snakemake.wildcards.task, snakemake.wildcards.site, store, participants, splits,
           snakemake.output.model, snakemake.output.log, snakemake.params.checkpoints,
           file_stamp(snakemake.input.store))
