"""Figure: each task augmentation on a segmentation and a denoising sample, like the supplement's Fig. 11."""

from neuroicl.core.io import atomic_path
from neuroicl.core.logs import to_file
from neuroicl.data.sources import open_datasets
from neuroicl.plots import PNG_DPI
from neuroicl.plots.tasks import augmentation_figure
from neuroicl.tasks.examples import augmentation_examples, example_pools, example_setup

log = to_file(snakemake.log[0])
config = snakemake.params.tasks
stores, splits = open_datasets(snakemake.params.datasets, snakemake.input.index, snakemake.input.splits)
setup = example_setup(config, stores, splits, snakemake.params.slice_axis)
batches = augmentation_examples(setup, config["examples"]["seed"])
pools = setup.sampler.pools
log.info("datasets: %s", {task: pools[example_pools(setup, task)[1]].name for task in batches})
log.info("rows: %s", {task: list(rows) for task, rows in batches.items()})
with atomic_path(snakemake.output[0]) as temporary:
    augmentation_figure(batches).savefig(temporary, dpi=PNG_DPI["augmentations"])
