"""Figures are drawn off screen: this module selects matplotlib's ``agg`` backend, then offers pyplot.

A module that draws takes pyplot from here (``from neuroicl.core.figures import plt``), or lives in
:mod:`neuroicl.plots`, whose package imports this module first, so that a job on a node without a
display never opens one.
"""

import matplotlib

matplotlib.use("agg")

from matplotlib import pyplot as plt  # noqa: E402  (after the backend is chosen)

__all__ = ["plt"]
