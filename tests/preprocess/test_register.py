"""Registration against a known truth: the template moved by a known affine must come back."""

import numpy as np
import pytest

from neuroicl.data import geometry
from neuroicl.preprocess.antsenv import import_ants
from neuroicl.preprocess.grid import ModelGrid, resample
from neuroicl.preprocess.register import RegistrationSettings, affine_error_mm, ants_affine_to_ras, register_to_template


@pytest.fixture(scope="module")
def ants():
    return import_ants(1)


def test_ants_affine_round_trips_through_apply_transforms(ants, tmp_path):
    """Our RAS matrix must move points exactly as ANTs moves the image."""
    matrix = geometry.pose_matrix(np.array([8.0, -4.0, 10.0]), np.array([5.0, -3.0, 7.0]), 1.05)
    transform = ants.create_ants_transform(
        transform_type="AffineTransform", dimension=3,
        matrix=(np.diag([-1, -1, 1]) @ matrix[:3, :3] @ np.diag([-1, -1, 1])),
        translation=(np.diag([-1, -1, 1]) @ matrix[:3, 3]), center=(0.0, 0.0, 0.0),
    )
    back = ants_affine_to_ras(np.asarray(transform.parameters), np.asarray(transform.fixed_parameters))
    np.testing.assert_allclose(back, matrix, atol=1e-5)


def test_registration_recovers_a_known_pose(ants, reference):
    """Move the (3 mm) template by a known rotation/translation; the estimate must undo it."""
    grid = ModelGrid((64, 76, 64), 3.0, (0.0, -18.0, 8.0))
    template = resample(reference.t1, reference.affine, np.eye(4), grid)
    native_to_mni = geometry.pose_matrix(np.array([10.0, -6.0, 8.0]), np.array([12.0, -8.0, 5.0]), 1.0)
    native_affine = np.linalg.inv(native_to_mni) @ grid.affine  # same voxels, posed in the scanner
    estimated = register_to_template(
        ants, template, native_affine, template, grid.affine, template > 0, RegistrationSettings(transform="AffineFast")
    )
    points = np.argwhere(template > 0) @ native_affine[:3, :3].T + native_affine[:3, 3]
    mean, _ = affine_error_mm(estimated, native_to_mni, points)
    assert mean < 1.5


def test_registration_is_deterministic_with_one_thread(ants, reference):
    grid = ModelGrid((48, 57, 48), 4.0, (0.0, -18.0, 8.0))
    template = resample(reference.t1, reference.affine, np.eye(4), grid)
    native_affine = (
        np.linalg.inv(geometry.pose_matrix(np.array([6.0, 3.0, -5.0]), np.array([4.0, 2.0, -6.0]), 1.0)) @ grid.affine
    )
    settings = RegistrationSettings(transform="AffineFast")
    first, second = (
        register_to_template(ants, template, native_affine, template, grid.affine, template > 0, settings)
        for _ in range(2)
    )
    np.testing.assert_array_equal(first, second)


def test_unknown_transform_is_an_error_naming_the_key():
    with pytest.raises(ValueError, match=r"preprocess\.registration\.transform 'SyN'"):
        RegistrationSettings(transform="SyN")


def test_import_ants_refuses_a_second_thread_count(ants):
    with pytest.raises(RuntimeError, match="import_ants"):
        import_ants(2)
