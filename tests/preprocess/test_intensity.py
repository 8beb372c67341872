import numpy as np
import pytest

from neuroicl.preprocess.antsenv import import_ants
from neuroicl.preprocess.intensity import N4Settings, n4, normalize


def test_percentile_normalization_maps_brain_to_unit_range(blob):
    image, mask = blob() * 700 + 20, blob() > 0.3
    out = normalize(image, mask)
    assert out.min() == 0 and out.max() == 1
    assert np.percentile(out[mask], 50) == pytest.approx(
        (np.median(image[mask]) - np.percentile(image[mask], 0.5)) / np.ptp(np.percentile(image[mask], [0.5, 99.5])),
        rel=1e-4,
    )


def test_zscore_normalization_has_zero_mean_unit_std_in_brain(blob):
    image, mask = blob() * 700 + 20, blob() > 0.3
    out = normalize(image, mask, "zscore")
    assert abs(out[mask].mean()) < 1e-4 and out[mask].std() == pytest.approx(1, rel=1e-4)


def test_unknown_normalization_and_empty_mask_are_errors(blob):
    with pytest.raises(ValueError, match="preprocess.normalization 'minmax'"):
        normalize(blob(), blob() > 0.3, "minmax")
    with pytest.raises(ValueError, match="empty"):
        normalize(blob(), np.zeros(blob().shape, bool))


def test_n4_recovers_a_smooth_bias_field():
    ants = import_ants(1)
    shape = (40, 48, 36)
    x = np.linspace(-1, 1, shape[0])[:, None, None]
    z = np.linspace(-1, 1, shape[2])[None, None, :]
    bias = np.exp(0.3 * x + 0.2 * z * x + 0.15 * z).astype(np.float32) * np.ones(shape, np.float32)
    tissue = (np.indices(shape).sum(0) // 6 % 2 * 0.5 + 0.5).astype(np.float32)  # two-class texture
    mask = np.zeros(shape, bool)
    mask[4:-4, 4:-4, 4:-4] = True
    _, field = n4(ants, tissue * bias, mask, np.diag([3.0, 3.0, 3.0, 1.0]), N4Settings())
    assert np.corrcoef(np.log(field[mask]), np.log(bias[mask]))[0, 1] > 0.9
