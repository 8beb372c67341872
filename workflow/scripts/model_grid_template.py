"""The registration target and the atlas brain mask on the model grid."""

from pathlib import Path

from neuroicl.core.io import save_arrays
from neuroicl.core.logs import to_file
from neuroicl.data.reference import load_reference
from neuroicl.preprocess.chain import PreprocessSettings, Template

log = to_file(snakemake.log[0])
reference = load_reference({key: Path(snakemake.input[key]) for key in snakemake.input.keys()})
grid = PreprocessSettings.from_config(snakemake.params.preprocess).grid
template = Template.from_reference(reference.t1, reference.affine, reference.brain, grid)
log.info("model grid %s at %.1f mm; atlas brain %d voxels", grid.shape, grid.spacing_mm, template.brain_on_grid.sum())
save_arrays(snakemake.output[0], template)
