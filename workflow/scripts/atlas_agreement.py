"""Atlas vs template agreement (Dice) on the template grid."""

from pathlib import Path

from neuroicl.core.io import write_tsv
from neuroicl.core.logs import to_file
from neuroicl.data.reference import agreement, load_reference

log = to_file(snakemake.log[0])
table = agreement(load_reference({key: Path(snakemake.input[key]) for key in snakemake.input.keys()}))
log.info("atlas/template agreement:\n%s", table.to_string(index=False))
write_tsv(snakemake.output[0], table)
