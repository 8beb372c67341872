"""Build the generator's reference anatomy (atlas on the template grid, distance and depth fields)."""

from pathlib import Path

from neuroicl.core.io import save_arrays, write_tsv
from neuroicl.core.logs import to_file
from neuroicl.data.anatomy import build_anatomy
from neuroicl.data.labels import label_table
from neuroicl.data.reference import load_reference

log = to_file(snakemake.log[0])
reference = load_reference({key: Path(snakemake.input[key]) for key in snakemake.input.keys()})
anatomy = build_anatomy(reference, coarse_mm=float(snakemake.params.grid_mm))
log.info("anatomy grid %s, coarse grid %s", anatomy.dseg.shape, anatomy.coarse_brain.shape)
save_arrays(snakemake.output.anatomy, anatomy)
write_tsv(snakemake.output.labels, label_table())
