"""Convert a run's released weights (the download its receipt names) into its model file: every checkpoint key
mapped onto our model, or the job fails naming the keys (neuroicl.models.released)."""

import json
from dataclasses import asdict
from pathlib import Path

from neuroicl.core.logs import to_file
from neuroicl.models.released import save_released
from neuroicl.plan.runs import Run

log = to_file(snakemake.log[0])
run = Run.from_dict(snakemake.params.run)
checkpoint = json.loads(Path(snakemake.input[0]).read_text())["path"]
model = save_released(checkpoint, snakemake.output.model, run.name, run.settings.get("ignore_keys", []))
log.info("run %s: %s mapped onto Neuralizer %s (%d parameters)", run.name, checkpoint, asdict(model.config),
         sum(p.numel() for p in model.parameters()))
