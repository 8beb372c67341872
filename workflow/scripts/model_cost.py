"""Table 6 (Neuralizer supplement H): parameter counts and inference GFLOPs of every model."""

from neuroicl.core.io import atomic_path
from neuroicl.core.logs import to_file
from neuroicl.models.cost import cost_table, cost_table_markdown

log = to_file(snakemake.log[0])
image_size = snakemake.params.image_size
context_sizes = list(snakemake.params.context_sizes)
log.info("image_size=%s context_sizes=%s", image_size, context_sizes)
table = cost_table(image_size, context_sizes)
markdown = cost_table_markdown(table)
log.info("cost table:\n%s", markdown)
with atomic_path(snakemake.output.csv) as temporary:
    table.to_csv(temporary, index=False, lineterminator="\n")
with atomic_path(snakemake.output.md) as temporary:
    temporary.write_text(markdown)
