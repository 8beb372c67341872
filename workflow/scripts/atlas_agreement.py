"""Atlas vs template agreement (Dice) on the template grid."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, also in --sdm conda envs

from pathlib import Path

from neuroicl.data.reference import agreement, load_reference
from neuroicl.io import write_tsv
from neuroicl.logs import to_file

log = to_file(snakemake.log[0])
table = agreement(load_reference({key: Path(snakemake.input[key]) for key in snakemake.input.keys()}))
log.info("atlas/template agreement:\n%s", table.to_string(index=False))
write_tsv(snakemake.output[0], table)
