"""Train one run of the comparison; resume from its last checkpoint; write the model file last.

With the resource gpu > 1 the job runs as that many DDP processes (docs/training.md).
"""

import sys

from neuroicl.core.logs import to_file
from neuroicl.training.distributed import launch_job
from neuroicl.training.job import TrainJob, run_job

log = to_file(snakemake.log[0])
job = TrainJob(
    run=snakemake.params.run,
    config=snakemake.params.config,
    datasets=list(snakemake.params.datasets),
    index=list(snakemake.input.index),
    splits=list(snakemake.input.splits),
    store=list(snakemake.input.store),  # every dataset's store files
    model=snakemake.output.model,
    log=snakemake.output.log,
    checkpoints=snakemake.params.checkpoints,
    threads=snakemake.threads,
)
processes = int(snakemake.resources.get("gpu", 0))
if processes <= 1:
    run_job(job)
else:
    log.info("run %s: %d DDP processes (torchrun)", job.run["name"], processes)
    launch_job(job, processes, sys.stderr)  # sys.stderr is the rule's log (to_file)
