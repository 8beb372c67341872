"""ISTN's Figs. 3-4: source slices (test subjects first), the ITN's and the STN's changes and the deformation field, per
ISTN mode."""

from neuroicl.core.io import atomic_path
from neuroicl.core.logs import to_file
from neuroicl.data.domains import domain_images, open_study_data
from neuroicl.evaluation.istn_study import transform_examples
from neuroicl.models.istn_file import load_istn_model
from neuroicl.plan.istn_study import ISTNStudy
from neuroicl.plots.istn import PNG_DPI, transform_figure
from neuroicl.training.istn_job import setup

log = to_file(snakemake.log[0])
setup(snakemake.threads)
study = ISTNStudy.from_dict(snakemake.params.study)
store, _, splits = open_study_data(snakemake.input.index, snakemake.input.participants, snakemake.input.splits)
source, _ = study.pairs[0]
order = study.subjects(splits, "figure")
shown = domain_images(store, source, order, study.modalities, study.slices)
modes, paths = snakemake.params.modes, snakemake.input.models
models = {mode: load_istn_model(path) for mode, path in zip(modes, paths, strict=True)}
figure = transform_figure(transform_examples(models, shown, study.figure_subjects, order), study.pair_names()[0])
with atomic_path(snakemake.output.png) as temporary:  # first: its constrained layout is a fresh draw's
    figure.savefig(temporary, dpi=PNG_DPI)
with atomic_path(snakemake.output.pdf) as temporary:
    figure.savefig(temporary)
