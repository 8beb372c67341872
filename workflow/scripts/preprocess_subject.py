"""Preprocess one subject: registration, skull strip, N4, normalization, slices, QC."""

from neuroicl.core.logs import to_file
from neuroicl.preprocess.antsenv import import_ants

log = to_file(snakemake.log[0])
ants = import_ants(1)  # before anything imports ants; more ITK threads are not deterministic

import torch

from neuroicl.core.io import load_arrays
from neuroicl.data.cohort import read_participant
from neuroicl.preprocess.chain import PreprocessSettings, Template
from neuroicl.preprocess.subject import run_subject, truth_files

torch.set_num_threads(snakemake.threads)
modalities = list(snakemake.params.modalities)
files = dict(snakemake.params.files)  # the subject's raw files (inputs themselves, or written by its adapter job)
subject = snakemake.wildcards.subject
row = run_subject(
    ants,
    subject=subject,
    site=read_participant(snakemake.input.participants, subject)["site"],
    images={m: files[m] for m in modalities},
    labels=files.get("dseg"),  # real datasets: label maps only where the dataset has them
    truth=truth_files(files),  # truth-based QC for the embedded cohort only
    template=load_arrays(Template, snakemake.input.template),
    settings=PreprocessSettings.from_config(snakemake.params.preprocess),
    modalities=modalities,
    slicing=snakemake.params.preprocess["slices"],
    outputs=dict(snakemake.output.items()),
    threads=snakemake.threads,
)
log.info("%s", row)
