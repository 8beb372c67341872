"""Figures of the pipeline (matplotlib with the agg backend)."""

import matplotlib

matplotlib.use("agg")
