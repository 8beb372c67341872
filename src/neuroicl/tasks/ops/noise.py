"""Intensity corruptions: Gaussian or Rician noise (TorchIO ``RandomNoise``) and a smooth multiplicative
bias field (TorchIO ``RandomBiasField``, after Van Leemput et al., 1999), both in 2-D.

Images are ``[N, C, H, W]``; channels that are all zero in the input stay exactly zero.
"""

from __future__ import annotations

import torch
from torch import Tensor

from neuroicl.tasks.ops.checks import require


def _check_images(images: Tensor) -> None:
    if images.ndim != 4 or not images.is_floating_point():
        raise ValueError(f"images must be a float [N, C, H, W] tensor, got {images.dtype} {tuple(images.shape)}")


def _per_item(value: Tensor, name: str, n: int) -> None:
    if not isinstance(value, Tensor) or value.shape != (n,):
        shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
        raise ValueError(f"{name} must be a tensor of shape [N] = ({n},), got {shape}")


def _check_magnitude(value: Tensor, name: str, n: int) -> None:
    _per_item(value, name, n)
    require(torch.isfinite(value) & (value >= 0), lambda: f"{name} must be finite and >= 0, got {value.tolist()}")


def _check_order(order: int) -> None:
    if isinstance(order, bool) or not isinstance(order, int) or order < 0:
        raise ValueError(f"order must be an int >= 0, got {order!r}")


def sample_noise_fields(shape: tuple[int, int, int, int], generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Draw two independent standard normal fields of ``shape`` = (N, C, H, W) on ``generator.device``.

    The first is the noise of the real part of the signal, the second that of the imaginary part
    (used only for Rician noise, see :func:`apply_noise`).
    """
    if len(shape) != 4 or any(s < 0 for s in shape):
        raise ValueError(f"shape must be (N, C, H, W) with sizes >= 0, got {shape}")
    first = torch.randn(*shape, generator=generator, device=generator.device)
    second = torch.randn(*shape, generator=generator, device=generator.device)
    return first, second


def apply_noise(images: Tensor, sigma: Tensor, fields: tuple[Tensor, Tensor], rician: Tensor) -> Tensor:
    """Add noise of standard deviation ``sigma`` (image intensity units) to each item.

    Gaussian (TorchIO ``Noise``) where ``rician[i]`` is False: ``x + sigma * n1``. Rician where True:
    ``sqrt((x + sigma * n1)^2 + (sigma * n2)^2)``, the magnitude of a complex signal with Gaussian noise
    in both parts (Gudbjartsson & Patz, 1995), which biases the zero background upwards.

    Args:
        images: ``[N, C, H, W]`` float.
        sigma: ``[N]``, ``>= 0``.
        fields: ``(n1, n2)`` from :func:`sample_noise_fields`, each ``[N, C, H, W]``.
        rician: ``[N]`` bool.

    Returns:
        ``[N, C, H, W]``; all-zero input channels stay exactly zero, and ``sigma = 0`` returns the
        input (Gaussian) or ``|input|`` (Rician).
    """
    _check_images(images)
    n = images.shape[0]
    _check_magnitude(sigma, "sigma", n)
    _per_item(rician, "rician", n)
    if rician.dtype != torch.bool:
        raise ValueError(f"rician must be a bool tensor, got {rician.dtype}")
    if len(fields) != 2 or any(f.shape != images.shape for f in fields):
        shapes = [tuple(f.shape) for f in fields]
        raise ValueError(f"fields must be two tensors of the images' shape {tuple(images.shape)}, got {shapes}")
    scale = sigma.to(images)[:, None, None, None]
    real = torch.addcmul(images, scale, fields[0].to(images))
    magnitude = torch.hypot(real, scale * fields[1].to(images))
    noisy = torch.where(rician.to(images.device)[:, None, None, None], magnitude, real)
    used = images.ne(0).any(dim=-1, keepdim=True).any(dim=-2, keepdim=True)  # [N, C, 1, 1]
    return torch.where(used, noisy, torch.zeros_like(noisy))


def bias_terms(order: int) -> list[tuple[int, int]]:
    """Exponents ``(i, j)`` of the monomials ``x^i y^j`` with ``i + j <= order``, in TorchIO's order.

    There are ``T = (order + 1) (order + 2) / 2`` of them. Example: ``bias_terms(1) == [(0, 0), (0, 1), (1, 0)]``.
    """
    _check_order(order)
    return [(i, j) for i in range(order + 1) for j in range(order + 1 - i)]


def sample_bias_coefficients(n: int, order: int, magnitude: Tensor, generator: torch.Generator) -> Tensor:
    """Draw ``[N, T]`` polynomial coefficients uniform in ``±magnitude[i]`` (TorchIO ``RandomBiasField``).

    Args:
        n: number of items N.
        order: polynomial order, ``>= 0``; T = ``len(bias_terms(order))``.
        magnitude: ``[N]``, ``>= 0`` (TorchIO's ``coefficients``, default 0.5).
        generator: the only source of randomness; coefficients live on ``generator.device``.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    num_terms = len(bias_terms(order))
    _check_magnitude(magnitude, "magnitude", n)
    uniform = torch.rand(n, num_terms, generator=generator, device=generator.device)
    return (2 * uniform - 1) * magnitude.to(uniform)[:, None]


def bias_field(coefficients: Tensor, order: int, size: tuple[int, int]) -> Tensor:
    """Smooth multiplicative field ``exp(sum_t c_t x^i_t y^j_t)``, ``[N, 1, H, W]`` (TorchIO ``BiasField``).

    ``x = linspace(-1, 1, H)`` runs along H and ``y = linspace(-1, 1, W)`` along W; ``(i_t, j_t)`` are
    :func:`bias_terms`. All-zero coefficients give a field of exactly one.

    Args:
        coefficients: ``[N, T]`` from :func:`sample_bias_coefficients`.
        order: the order they were drawn for.
        size: ``(H, W)``.
    """
    terms = bias_terms(order)
    if coefficients.ndim != 2 or coefficients.shape[1] != len(terms):
        raise ValueError(
            f"coefficients must be [N, T] with T = {len(terms)} for order {order}, got {tuple(coefficients.shape)}"
        )
    if len(size) != 2 or any(s < 1 for s in size):
        raise ValueError(f"size must be (H, W) with sizes >= 1, got {size}")
    h, w = size
    options = {"device": coefficients.device, "dtype": coefficients.dtype}
    x = torch.linspace(-1, 1, h, **options)
    y = torch.linspace(-1, 1, w, **options)
    basis = torch.stack([x[:, None] ** i * y[None, :] ** j for i, j in terms])  # [T, H, W], no host upload
    log_field = torch.einsum("nt,thw->nhw", coefficients, basis)
    return torch.exp(log_field)[:, None]


def apply_bias_field(images: Tensor, field: Tensor) -> Tensor:
    """Multiply ``[N, C, H, W]`` images by a ``[N, 1, H, W]`` field from :func:`bias_field`."""
    _check_images(images)
    n, _, h, w = images.shape
    if field.shape != (n, 1, h, w):
        raise ValueError(f"field must be [N, 1, H, W] = ({n}, 1, {h}, {w}), got {tuple(field.shape)}")
    return images * field.to(images)
