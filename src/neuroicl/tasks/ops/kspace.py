"""K-space operations: Cartesian undersampling (fastMRI mask functions) and rigid motion (TorchIO).

Images are ``[N, C, H, W]``; the phase-encoding axis is the last one, W, so k-space *columns* are
acquired or corrupted. The centred orthonormal FFT is fastMRI's ``fft2c``/``ifft2c``
(``fastmri.fftc``): ``fftshift(fft2(ifftshift(x)))``, correct for even and odd sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from neuroicl.tasks.ops.checks import require


def _fftc_w(images: Tensor) -> Tensor:
    """Centred orthonormal 1-D FFT along W (the phase-encoding axis).

    Every mask here selects whole k-space columns (W frequencies), so the FFT along H and its
    inverse cancel: masking the 1-D spectrum gives exactly the 2-D result at half the cost.
    """
    return torch.fft.fftshift(torch.fft.fft(torch.fft.ifftshift(images, dim=-1), dim=-1, norm="ortho"), dim=-1)


def _ifftc_w(kspace: Tensor) -> Tensor:
    """Inverse of :func:`_fftc_w`."""
    return torch.fft.fftshift(torch.fft.ifft(torch.fft.ifftshift(kspace, dim=-1), dim=-1, norm="ortho"), dim=-1)


def _per_item(value: Tensor, name: str, n: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """Check that ``value`` is ``[N]`` and finite (if floating); return it on ``device`` as ``dtype``."""
    if not isinstance(value, Tensor) or value.shape != (n,):
        shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
        raise ValueError(f"{name} must be a tensor of shape [N] = ({n},), got {shape}")
    if value.is_floating_point():
        require(torch.isfinite(value), lambda: f"{name} must be finite, got {value.tolist()}")
    return value.to(device=device, dtype=dtype)


def _check_images(images: Tensor) -> None:
    if images.ndim != 4 or not images.is_floating_point():
        raise ValueError(f"images must be a float [N, C, H, W] tensor, got {images.dtype} {tuple(images.shape)}")


def sample_undersampling_mask(
    n: int, width: int, acceleration: Tensor, center_fraction: Tensor, equispaced: Tensor, generator: torch.Generator
) -> Tensor:
    """Draw ``[N, W]`` boolean masks of sampled phase-encoding columns (fastMRI ``subsample.py``).

    Every mask keeps the ``round(W * center_fraction)`` central columns (``pad = (W - n_center + 1) // 2``,
    as in ``MaskFunc.calculate_center_mask``). Outside them:

    * ``equispaced[i]`` False — ``RandomMaskFunc``: each column is kept independently with probability
      ``(W / acceleration - n_center) / (W - n_center)`` (clamped to [0, 1]), so ``W / acceleration``
      columns are kept on average, centre included.
    * ``equispaced[i]`` True — ``EquispacedMaskFunc``: columns ``floor(offset + k * acceleration)``,
      ``k = 0, 1, ...``, with ``offset ~ U[0, acceleration)``. For integer accelerations this is exactly
      fastMRI's ``mask[offset::acceleration]`` with ``offset`` uniform in ``{0, ..., acceleration - 1}``;
      for non-integer ones consecutive lines are ``floor`` or ``ceil(acceleration)`` apart and every
      column is kept with probability ``1 / acceleration``. As in fastMRI, the centre block comes on top,
      so the kept fraction slightly exceeds ``1 / acceleration``.

    Args:
        n: number of masks N.
        width: number of columns W.
        acceleration: ``[N]`` float, ``>= 1``.
        center_fraction: ``[N]`` float in ``[0, 1]``.
        equispaced: ``[N]`` bool.
        generator: the only source of randomness; the mask lives on ``generator.device``.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> sample_undersampling_mask(2, 8, torch.tensor([4.0, 4.0]), torch.tensor([0.25, 0.25]),
        ...                           torch.tensor([False, True]), g).shape
        torch.Size([2, 8])
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if width < 1:
        raise ValueError(f"width must be >= 1, got {width}")
    device = generator.device
    acceleration = _per_item(acceleration, "acceleration", n, device, torch.float64)
    center_fraction = _per_item(center_fraction, "center_fraction", n, device, torch.float64)
    if equispaced.dtype != torch.bool:
        raise ValueError(f"equispaced must be a bool tensor, got {equispaced.dtype}")
    equispaced = _per_item(equispaced, "equispaced", n, device, torch.bool)
    require(acceleration >= 1, lambda: f"acceleration must be >= 1, got {acceleration.tolist()}")
    require((center_fraction >= 0) & (center_fraction <= 1),
            lambda: f"center_fraction must be in [0, 1], got {center_fraction.tolist()}")

    # draw everything for every item, whatever its mode, so that one item's draws do not depend on another's mode
    uniform = torch.rand(n, width, generator=generator, device=device, dtype=torch.float64)
    offset = torch.rand(n, generator=generator, device=device, dtype=torch.float64) * acceleration

    cols = torch.arange(width, device=device)
    n_center = torch.round(width * center_fraction).long()  # half to even, like Python's round in fastMRI
    pad = torch.div(width - n_center + 1, 2, rounding_mode="floor")
    center = (cols >= pad[:, None]) & (cols < (pad + n_center)[:, None])

    prob = ((width / acceleration - n_center) / (width - n_center).clamp(min=1)).clamp(0.0, 1.0)
    random = uniform < prob[:, None]

    lines = torch.arange(width, device=device, dtype=torch.float64)  # acceleration >= 1: at most W lines
    positions = torch.floor(offset[:, None] + lines * acceleration[:, None]).long()  # [N, W]
    inside = positions < width
    spaced = torch.zeros(n, width + 1, dtype=torch.bool, device=device)
    spaced.scatter_(1, torch.where(inside, positions, width), inside)  # out-of-range lines land in column W
    return center | torch.where(equispaced[:, None], spaced[:, :width], random)


def apply_undersampling(images: Tensor, mask: Tensor) -> Tensor:
    """Keep only the ``mask``-ed k-space columns and return the magnitude image (fastMRI ``apply_mask``).

    Args:
        images: ``[N, C, H, W]`` float.
        mask: ``[N, W]`` bool, True where a column is sampled.

    Returns:
        ``[N, C, H, W]``: ``|ifft2c(fft2c(images) * mask)|``. An all-True mask returns ``|images|``
        up to float error; all-zero channels stay exactly zero.
    """
    _check_images(images)
    n, _, _, w = images.shape
    if mask.dtype != torch.bool or mask.shape != (n, w):
        raise ValueError(f"mask must be a bool [N, W] = ({n}, {w}) tensor, got {mask.dtype} {tuple(mask.shape)}")
    kspace = _fftc_w(images) * mask[:, None, None, :].to(images.device)
    return _ifftc_w(kspace).abs().to(images.dtype)


@dataclass(frozen=True)
class MotionParams:
    """K rigid movements per item during a 2-D acquisition (TorchIO ``Motion``, after Shaw et al., 2019).

    Pose 0 is the unmoved image; movement k (1..K) happens at ``times[:, k-1]`` as a fraction of the
    acquisition, after which the head stays at pose k.
    """

    angles: Tensor  # [N, K] radians, rotation about the image centre from +W towards +H
    shifts: Tensor  # [N, K, 2] pixels along (H, W); positive moves content towards larger indices
    times: Tensor  # [N, K] sorted, in (0, 1)

    def __post_init__(self) -> None:
        n, k = self.angles.shape if self.angles.ndim == 2 else (-1, -1)
        if n < 0 or self.shifts.shape != (n, k, 2) or self.times.shape != (n, k):
            shapes = [tuple(t.shape) for t in (self.angles, self.shifts, self.times)]
            raise ValueError(f"MotionParams (angles, shifts, times) must be [N, K], [N, K, 2], [N, K], got {shapes}")


def sample_motion(
    n: int, degrees: Tensor, translation: Tensor, num_transforms: int, generator: torch.Generator
) -> MotionParams:
    """Draw K = ``num_transforms`` movements per item (TorchIO ``RandomMotion.get_params``, in 2-D).

    Angles are uniform in ``±degrees[i]`` (returned in radians), shifts uniform in ``±translation[i]``
    pixels on each axis, and times ``(k + u) / (K + 1)``, ``k = 1..K``, ``u ~ U(-0.3, 0.3)`` (TorchIO's
    perturbation), hence sorted and in (0, 1).

    Args:
        n: number of items N.
        degrees: ``[N]`` maximum rotation in degrees, ``>= 0``.
        translation: ``[N]`` maximum shift in pixels, ``>= 0``.
        num_transforms: K, ``>= 1``.
        generator: the only source of randomness; parameters live on ``generator.device``.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if isinstance(num_transforms, bool) or not isinstance(num_transforms, int) or num_transforms < 1:
        raise ValueError(f"num_transforms must be an int >= 1, got {num_transforms!r}")
    device = generator.device
    degrees = _per_item(degrees, "degrees", n, device, torch.float32)
    translation = _per_item(translation, "translation", n, device, torch.float32)
    require(degrees >= 0, lambda: f"degrees must be >= 0, got {degrees.tolist()}")
    require(translation >= 0, lambda: f"translation must be >= 0, got {translation.tolist()}")
    k = num_transforms

    def symmetric(*shape: int) -> Tensor:
        return 2 * torch.rand(*shape, generator=generator, device=device) - 1

    angles = symmetric(n, k) * torch.deg2rad(degrees)[:, None]
    shifts = symmetric(n, k, 2) * translation[:, None, None]
    steps = torch.arange(1, k + 1, device=device, dtype=torch.float32)
    times = (steps + 0.3 * symmetric(n, k)) / (k + 1)
    return MotionParams(angles=angles, shifts=shifts, times=times)


def _move(images: Tensor, angles: Tensor, shifts: Tensor) -> Tensor:
    """Rigidly move ``[N, C, H, W]`` images to each of K poses: ``[N, K, C, H, W]`` (bilinear, zero padding).

    ``grid_sample`` (``align_corners=False``) reads output pixel p from ``c + R^-1 (p - c - t)``; in
    normalised coordinates pixel offsets from the centre are scaled by ``S = diag(W/2, H/2)`` (x, y order).
    """
    n, c, h, w = images.shape
    k = angles.shape[1]
    cos, sin = torch.cos(angles), torch.sin(angles)  # [N, K]
    sx, sy = w / 2, h / 2
    # S^-1 R^-1 S with R = [[cos, -sin], [sin, cos]] in (x = W, y = H)
    a = torch.stack([torch.stack([cos, sin * sy / sx], -1), torch.stack([-sin * sx / sy, cos], -1)], -2)
    t = torch.stack([shifts[..., 1] / sx, shifts[..., 0] / sy], -1)  # normalised (x, y) shift
    theta = torch.cat([a, -(a @ t[..., None])], -1).reshape(n * k, 2, 3).to(images)
    grid = F.affine_grid(theta, [n * k, c, h, w], align_corners=False)
    repeated = images[:, None].expand(n, k, c, h, w).reshape(n * k, c, h, w)
    moved = F.grid_sample(repeated, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return moved.reshape(n, k, c, h, w)


def _used_planes_on_cpu(planes: Tensor) -> Tensor:
    """Indices of the planes ``[P, 1, H, W]`` that are not all zero (a host read: CPU tensors only)."""
    return torch.nonzero(planes.flatten(1).ne(0).any(1)).flatten()


def apply_motion(images: Tensor, params: MotionParams) -> Tensor:
    """Simulate rigid motion during acquisition (TorchIO ``Motion.add_artifact``, in 2-D).

    The image is moved to every pose; k-space column ``w`` is taken from the pose acquiring at that time,
    segment boundaries being ``floor(times * W)`` (segment 0 = ``[0, b_1)``, ..., segment K = ``[b_K, W)``).
    As TorchIO's ``sort_spectra`` does, the unmoved image is swapped into the segment holding the k-space
    centre (the first time > 0.5), so the result stays registered to the input. Returns the magnitude of
    the inverse transform, ``[N, C, H, W]``; zero angles and shifts give ``|images|`` up to float error.
    """
    _check_images(images)
    n, c, h, w = images.shape
    if params.angles.shape[0] != n:
        raise ValueError(f"params must describe N = {n} items, got angles of shape {tuple(params.angles.shape)}")
    if images.device.type == "cpu" and c > 1:  # skip all-zero channel planes (on a GPU that would need a host sync)
        planes = images.reshape(n * c, 1, h, w)
        keep = _used_planes_on_cpu(planes)
        if len(keep) < n * c:
            def per_plane(value: Tensor) -> Tensor:
                return value.repeat_interleave(c, dim=0)[keep]

            sub = MotionParams(per_plane(params.angles), per_plane(params.shifts), per_plane(params.times))
            out = torch.zeros_like(planes)
            out[keep] = apply_motion(planes[keep], sub)
            return out.reshape(n, c, h, w)
    device = images.device
    options = {"device": device, "dtype": torch.float32}
    angles, shifts, times = params.angles.to(**options), params.shifts.to(**options), params.times.to(**options)
    poses = torch.cat([images[:, None], _move(images, angles, shifts)], 1)  # [N, K+1, C, H, W]
    spectra = _fftc_w(poses)

    bounds = torch.floor(times * w).long()  # [N, K]
    cols = torch.arange(w, device=device)
    segment = (bounds[:, None, :] <= cols[None, :, None]).sum(-1)  # [N, W] in 0..K
    central = (times <= 0.5).sum(-1, keepdim=True)  # [N, 1] segment holding the centre
    pose = torch.where(segment == central, 0, torch.where(segment == 0, central, segment))
    index = pose[:, None, None, None, :].expand(n, 1, c, h, w)
    kspace = torch.gather(spectra, 1, index).squeeze(1)
    return _ifftc_w(kspace).abs().to(images.dtype)
