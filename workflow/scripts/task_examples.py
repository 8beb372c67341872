"""Figure: one sample of every task (target input/output and context pairs), like the supplement's Fig. 6–8."""

from neuroicl.core.io import atomic_path
from neuroicl.core.logs import to_file
from neuroicl.data.sources import open_datasets
from neuroicl.plots import PNG_DPI
from neuroicl.plots.tasks import task_figure
from neuroicl.tasks.examples import example_pools, example_setup, task_examples

log = to_file(snakemake.log[0])
config = snakemake.params.tasks
stores, splits = open_datasets(snakemake.params.datasets, snakemake.input.index, snakemake.input.splits)
setup = example_setup(config, stores, splits, snakemake.params.slice_axis)
pairs = config["examples"]["context_pairs"]
batches = task_examples(setup, config["examples"]["seed"], pairs)
pools = setup.sampler.pools
log.info("tasks (dataset): %s", {task: pools[example_pools(setup, task)[1]].name for task in batches})
with atomic_path(snakemake.output[0]) as temporary:
    task_figure(batches, pairs).savefig(temporary, dpi=PNG_DPI["tasks"])
