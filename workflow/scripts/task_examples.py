"""Figure: one sample of every task (target input/output and context pairs), like the supplement's Fig. 6–8."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, also in --sdm conda envs

from pathlib import Path

from neuroicl.io import atomic_path
from neuroicl.logs import to_file
from neuroicl.plots.tasks import task_figure
from neuroicl.preprocess.slices import SliceStore
from neuroicl.splits import read_splits
from neuroicl.tasks.examples import example_setup, task_examples

log = to_file(snakemake.log[0])
config = snakemake.params.tasks
store = SliceStore.open(str(Path(snakemake.input.index).parent))
setup = example_setup(config, store, read_splits(snakemake.input.splits), snakemake.params.slice_axis)
pairs = config["examples"]["context_pairs"]
batches = task_examples(setup, config["examples"]["seed"], pairs)
log.info("tasks: %s", list(batches))
with atomic_path(snakemake.output[0]) as temporary:
    task_figure(batches, pairs).savefig(temporary, dpi=110)
