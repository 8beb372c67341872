import numpy as np
import pytest
import torch

from neuroicl.data import geometry


@pytest.mark.parametrize("code", ["RAS", "LPS", "PIL", "ASR"])
def test_orientation_matrix_round_trips_through_nibabel(code):
    import nibabel as nib

    affine = np.eye(4)
    affine[:3, :3] = geometry.orientation_matrix(code)
    assert "".join(nib.aff2axcodes(affine)) == code


@pytest.mark.parametrize("code", ["RAR", "XYZ", "RA", "RASS"])
def test_bad_orientation_code_is_an_error_naming_it(code):
    with pytest.raises(ValueError, match=code):
        geometry.orientation_matrix(code)


def test_pose_matrix_maps_placed_head_back_to_mni():
    angles, translation, scale = np.array([10.0, -5.0, 12.0]), np.array([3.0, -15.0, 8.0]), 1.05
    native_to_mni = geometry.pose_matrix(angles, translation, scale)
    mni = np.array([[10.0, -20.0, 30.0], [0.0, 0.0, 0.0]])
    native = (geometry.rotation_matrix(angles) @ (scale * mni).T).T + translation
    back = geometry.transform_points(native_to_mni, torch.as_tensor(native, dtype=torch.float32))
    np.testing.assert_allclose(back.numpy(), mni, atol=1e-4)


def test_sampling_a_volume_at_its_own_voxels_returns_it():
    volume = torch.arange(4 * 5 * 6, dtype=torch.float32).reshape(1, 4, 5, 6)
    affine = geometry.grid_affine("LPS", np.array([2.0, 1.5, 3.0]), (4, 5, 6), np.array([1.0, 2.0, 3.0]))
    points = geometry.grid_points((4, 5, 6), affine)
    for mode in ("bilinear", "nearest"):
        np.testing.assert_allclose(
            geometry.sample(volume, affine, points, mode)[..., 0].numpy(), volume[0].numpy(), atol=1e-3
        )


def test_zero_velocity_integrates_to_zero_displacement():
    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    displacement = geometry.integrate_velocity(torch.zeros(3, 8, 8, 8), affine)
    assert torch.count_nonzero(displacement) == 0


def test_integrated_field_is_diffeomorphic():
    generator = torch.Generator().manual_seed(0)
    velocity = torch.nn.functional.interpolate(
        torch.randn(1, 3, 4, 4, 4, generator=generator) * 6, size=(16, 16, 16), mode="trilinear"
    )[0]
    displacement = geometry.integrate_velocity(velocity, np.diag([4.0, 4.0, 4.0, 1.0])).numpy()
    jacobian = (
        np.stack([np.stack(np.gradient(displacement[i], 4.0), 0) for i in range(3)], 0)
        + np.eye(3)[:, :, None, None, None]
    )
    assert np.linalg.det(np.moveaxis(jacobian, (0, 1), (-2, -1))).min() > 0


def test_remove_affine_leaves_nothing_of_an_affine_field():
    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    points = geometry.grid_points((6, 7, 8), affine)
    field = (
        points @ torch.tensor([[0.02, 0.01, 0.0], [0.0, -0.03, 0.0], [0.01, 0.0, 0.02]]).T
        + torch.tensor([1.0, -2.0, 0.5])
    ).permute(3, 0, 1, 2)
    residual = geometry.remove_affine(field, affine, np.ones((6, 7, 8), dtype=bool))
    assert residual.abs().max() < 1e-4
