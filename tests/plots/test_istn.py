"""ISTN's Figs. 3-4: one row per mode and subject, six panels."""

import numpy as np

from neuroicl.plots.istn import COLUMNS, transform_figure


def test_the_figure_has_a_row_per_mode_and_subject():
    rng = np.random.default_rng(0)
    image = rng.random((2, 1, 16, 16)).astype(np.float32)
    examples = {mode: {"subjects": ["sub-001", "sub-002"], "source": image, "itn": image * 0.9, "s2t": image * 0.8,
                       "displacement": rng.normal(0, 0.5, (2, 2, 16, 16))} for mode in ("itn+affine", "itn+bspline")}
    figure = transform_figure(examples, "siteA-siteC")
    axes = np.array(figure.axes).reshape(4, len(COLUMNS))
    assert axes[0, 0].get_title().startswith("source S") and "itn+bspline" in axes[2, 0].get_ylabel()
    assert "siteA → siteC" in figure.get_suptitle()
