"""neuroicl: in-context learning for neuroimaging, reproduced as a Snakemake pipeline.

Subpackages, one idea each: ``data`` (the embedded cohort), ``preprocess``, ``tasks``,
``models``, ``train``, ``evaluate``, ``plots``.
"""

__version__ = "0.1.0"
