"""Intensity task augmentations: Sobel filter, intensity mapping, synthetic modality (supplement C.1).

All act on images ``[N, C, H, W]`` whose background and unused channels are zero and keep them zero.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _sobel_kernel(like: Tensor) -> Tensor:
    """The 3x3 Sobel kernel along H, ``[[1, 0, -1], [2, 0, -2], [1, 0, -1]]``, made on ``like``'s device
    (built by arithmetic, not copied from the host)."""
    steps = torch.arange(3, device=like.device, dtype=like.dtype)
    smooth, difference = 2 - (steps - 1).abs(), 1 - steps  # [1, 2, 1], [1, 0, -1]
    return smooth[:, None] * difference[None, :]


def sobel_filter(images: Tensor) -> Tensor:
    """Sobel gradient magnitude of every channel, scaled so each item's channel maximum stays the same.

    ``[N, C, H, W] -> [N, C, H, W]``; all-zero channels stay zero.
    """
    n, c, h, w = images.shape
    kernel = _sobel_kernel(images)
    kernels = torch.stack([kernel, kernel.T])[:, None]  # [2, 1, 3, 3]
    flat = images.reshape(n * c, 1, h, w)
    gradient = F.conv2d(F.pad(flat, (1, 1, 1, 1), mode="replicate"), kernels).square().sum(1).sqrt()
    gradient = gradient.reshape(n, c, h, w)
    peak = images.amax(dim=(2, 3), keepdim=True)
    scale = peak / gradient.amax(dim=(2, 3), keepdim=True).clamp_min(1e-6)
    return gradient * scale


def sample_intensity_mapping(n: int, bins: tuple[int, int], generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """New intensities at up to ``K = bins[1]`` bin centres ``[N, C=3, K]``, and each item's bin count ``[N]``.

    Following the supplement (C.1, after SynthSeg [45]): the intensity range [0, 1] is split into
    ``k ~ U{bins[0], bins[1]}`` bins and each bin gets a random intensity *difference*; the new value
    at a bin centre is the cumulative sum, rescaled to [0, 1]. Items with ``k < K`` repeat their
    last value so that one tensor holds them all. One mapping per channel.
    """
    low, high = bins
    if not 2 <= low <= high:
        raise ValueError(f"intensity_mapping bins must satisfy 2 <= low <= high, got {bins}")
    device = generator.device
    k = torch.randint(low, high + 1, (n, 1, 1), generator=generator, device=device)
    steps = torch.rand(n, 3, high, generator=generator, device=device) * 2 - 1
    values = steps.cumsum(-1)
    used = torch.arange(high, device=device) < k
    last = values.gather(-1, (k - 1).expand(n, 3, 1))
    values = torch.where(used, values, last)
    low_v = torch.where(used, values, values.amax(-1, keepdim=True)).amin(-1, keepdim=True)
    high_v = torch.where(used, values, values.amin(-1, keepdim=True)).amax(-1, keepdim=True)
    values = (values - low_v) / (high_v - low_v).clamp_min(1e-6)
    return values, k.flatten()


def apply_intensity_mapping(images: Tensor, values: Tensor, bins: Tensor) -> Tensor:
    """Map intensities in [0, 1] piecewise linearly through new bin values ``values [N, C, K]``.

    An item with ``bins[i] = k`` has its bin centres at ``(j + 0.5) / k``; an intensity between two
    centres is interpolated linearly from their new values (clamped at the outer centres).
    Zero (background) stays zero.
    """
    k = bins[:, None, None].long()
    n, c, h, w = images.shape
    position = (images.clamp(0, 1).reshape(n, c, h * w) * k - 0.5).clamp_min(0)
    lower = position.floor().long().clamp(max=values.shape[-1] - 1)
    lower = torch.minimum(lower, k - 1)
    upper = torch.minimum(lower + 1, k - 1)
    weight = (position - lower).clamp(0, 1)
    mapped = values.gather(-1, lower) * (1 - weight) + values.gather(-1, upper) * weight
    return torch.where(images > 0, mapped.reshape(n, c, h, w), torch.zeros_like(images))


def sample_synthetic_modality(
    n: int, n_labels: int, std: tuple[float, float], generator: torch.Generator
) -> tuple[Tensor, Tensor, Tensor]:
    """Per item: mean ``[N, K]`` and std ``[N, K]`` of each label 0..K-1, and the replaced channel ``[N]``.

    Means are uniform in [0, 1], stds uniform in ``std`` (supplement C.1, after SynthSeg [45]).
    """
    if not 0 <= std[0] <= std[1]:
        raise ValueError(f"synthetic_modality std must satisfy 0 <= low <= high, got {std}")
    device = generator.device
    mean = torch.rand(n, n_labels, generator=generator, device=device)
    spread = std[0] + (std[1] - std[0]) * torch.rand(n, n_labels, generator=generator, device=device)
    channel = torch.rand(n, generator=generator, device=device)  # fraction → one of the item's used channels
    return mean, spread, channel


def synthetic_image(labels: Tensor, brain: Tensor, mean: Tensor, std: Tensor, noise: Tensor) -> Tensor:
    """Synthetic brain ``[N, H, W]``: ``mean[label] + std[label] * noise`` inside ``brain``, 0 outside.

    ``labels`` ``[N, H, W]`` integer, ``brain`` ``[N, H, W]`` bool, ``mean``/``std`` ``[N, K]``,
    ``noise`` ``[N, H, W]`` standard normal. Clamped to [0, 1].
    """
    flat = labels.long().flatten(1).clamp(max=mean.shape[1] - 1)
    value = mean.gather(1, flat) + std.gather(1, flat) * noise.flatten(1)
    return torch.where(brain, value.reshape(labels.shape).clamp(0, 1), torch.zeros_like(noise))


def apply_synthetic_modality(
    images: Tensor, synthetic: Tensor, brain: Tensor, channel: Tensor, skull: Tensor
) -> Tensor:
    """Replace channel ``channel [N]`` (long) of ``images`` by ``synthetic [N, H, W]``.

    Where ``skull [N]`` is True the image has a head, and the synthetic brain is overlaid onto the
    original so the skull is kept (supplement C.1); otherwise the channel becomes the synthetic image.
    """
    n, c = images.shape[:2]
    old = images[torch.arange(n, device=images.device), channel]
    keep_head = skull[:, None, None] & ~brain
    new = torch.where(keep_head, old, synthetic)
    chosen = torch.arange(c, device=images.device)[None, :] == channel[:, None]
    return torch.where(chosen[:, :, None, None], new[:, None], images)
