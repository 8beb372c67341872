"""Figures of the pipeline (matplotlib with the agg backend, :mod:`neuroicl.core.figures`)."""

import neuroicl.core.figures  # noqa: F401  (selects the agg backend before any pyplot import)

#: Resolution of the PNG copy of every figure (the PDFs are vector graphics).
PNG_DPI = {"cohort": 100, "tasks": 110, "augmentations": 110, "performance": 150, "samples": 150}
