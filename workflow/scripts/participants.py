"""Draw the cohort's participants (site, age, sex, head scale) and describe the dataset."""

from neuroicl.core.io import write_json, write_tsv
from neuroicl.core.logs import to_file
from neuroicl.data.cohort import sample_participants
from neuroicl.plan.cohort import CohortSpec

log = to_file(snakemake.log[0])
spec = CohortSpec.from_config(snakemake.params.cohort)
table = sample_participants(spec)
log.info("%d participants over %d sites", len(table), len(spec.sites))
write_tsv(snakemake.output.participants, table)
write_json(
    snakemake.output.description,
    {
        "Name": "neuroicl embedded cohort (synthetic, from MNI152 2009a and Neuromorphometrics labels)",
        "BIDSVersion": "1.9.0",
        "DatasetType": "raw",
        "GeneratedBy": [{"Name": "neuroicl", "Description": f"cohort seed {spec.seed}"}],
    },
)
