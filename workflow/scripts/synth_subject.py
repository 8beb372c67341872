"""Synthesize one subject of the embedded cohort (images and ground truth, native space)."""

import time

import torch

from neuroicl.core.io import load_arrays
from neuroicl.core.logs import to_file
from neuroicl.data.anatomy import Anatomy
from neuroicl.data.cohort import read_participant, synthesize
from neuroicl.plan.cohort import CohortSpec

log = to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
start = time.perf_counter()
spec = CohortSpec.from_config(snakemake.params.cohort)
participant = read_participant(snakemake.input.participants, snakemake.wildcards.subject)
subject = synthesize(spec, load_arrays(Anatomy, snakemake.input.anatomy), participant, dict(snakemake.output.items()))
log.info(
    "%s: grid %s, nonlinear displacement %s mm, %.1f s",
    snakemake.wildcards.subject,
    subject.dseg.shape,
    subject.nonlinear_mm,
    time.perf_counter() - start,
)
