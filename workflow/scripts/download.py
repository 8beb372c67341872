"""Fetch one registry entry (download, verify, unpack) and write its receipt; a manual entry (data-use
agreement) stops with the registry's instructions until the user has placed the files, then is validated."""

import sys
from pathlib import Path

from neuroicl.core.io import write_json
from neuroicl.core.logs import to_file
from neuroicl.datasets.download import fetch
from neuroicl.datasets.errors import ManualDataError

log = to_file(snakemake.log[0])
entry = snakemake.wildcards.entry
params = snakemake.params
downloads = Path(snakemake.output[0]).parent  # resources/downloads: archives, unpacked folders, receipts
try:
    path = fetch(entry, params.registry, params.lock, downloads, progress=False)
except ManualDataError as error:
    print(f"\n{error}\n", file=sys.__stderr__)  # the instructions, on the terminal as well as in the log
    raise
log.info("%s: %s", entry, path)
write_json(snakemake.output[0], {"entry": entry, "path": str(path)})
