"""Figure: each task augmentation on a segmentation and a denoising sample, like the supplement's Fig. 11."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, also in --sdm conda envs

from pathlib import Path

from neuroicl.io import atomic_path
from neuroicl.logs import to_file
from neuroicl.plots.tasks import augmentation_figure
from neuroicl.preprocess.slices import SliceStore
from neuroicl.splits import read_splits
from neuroicl.tasks.examples import augmentation_examples, example_setup

log = to_file(snakemake.log[0])
config = snakemake.params.tasks
store = SliceStore.open(str(Path(snakemake.input.index).parent))
setup = example_setup(config, store, read_splits(snakemake.input.splits), snakemake.params.slice_axis)
batches = augmentation_examples(setup, config["examples"]["seed"])
log.info("rows: %s", {task: list(rows) for task, rows in batches.items()})
with atomic_path(snakemake.output[0]) as temporary:
    augmentation_figure(batches).savefig(temporary, dpi=110)
