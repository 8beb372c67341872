"""ISTN's discriminator and soft labels, and the task CNN retrained on transformed images (Robinson et al. 2020).

All networks read ISTN space (:func:`neuroicl.models.istn.to_istn_space`), ``[B, C, H, W]``.

* :class:`Discriminator` scores whether an image is a real target-site image: one logit per image ``[B]``
  (the paper's output is ``[1, 1, 1]`` per image, Tables 5-6); the sigmoid is applied inside the loss
  (:func:`soft_label_bce`, BCE-with-logits: the same value as the code's ``torch.sigmoid`` then
  ``nn.BCELoss``, numerically stable).
* Soft labels (Sec. 2, "Training": "random uniform values in the ranges [0.00, 0.03] and [0.97, 1.00]") are a
  sampler/applier pair: :func:`sample_soft_labels` draws them from an explicit generator, :func:`soft_label_bce`
  applies them.
* :class:`TaskCNN` is the sex classifier / age regressor ``[B, C, H, W] -> [B, K]`` (Sec. 2, "Task models": the
  same fully-convolutional structure as the discriminator).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuroicl.models.base import IMAGE_CHANNELS, check_int
from neuroicl.models.istn import MetaBuilt, conv_block, dropout, reset_default, reset_gan_init

#: Soft label ranges (Sec. 2, "Training"; code ``torch.distributions.Uniform(0.97, 1.00)`` / ``(0.00, 0.03)``).
REAL_LABELS = (0.97, 1.0)
FAKE_LABELS = (0.0, 0.03)


def sample_soft_labels(n: int, real: bool, generator: torch.Generator) -> Tensor:
    """``n`` soft domain labels ``[n]``: uniform in :data:`REAL_LABELS` if ``real`` else :data:`FAKE_LABELS`,
    drawn on ``generator.device``.

    Example:
        >>> sample_soft_labels(4, True, torch.Generator().manual_seed(0)).min() >= 0.97
        tensor(True)
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"sample_soft_labels: n must be an integer >= 0, got {n!r}")
    low, high = REAL_LABELS if real else FAKE_LABELS
    return low + (high - low) * torch.rand(n, generator=generator, device=generator.device)


def soft_label_bce(logits: Tensor, labels: Tensor) -> Tensor:
    """Mean binary cross-entropy of ``sigmoid(logits) [B]`` against soft ``labels [B]`` (moved to the logits)."""
    return F.binary_cross_entropy_with_logits(logits, labels.to(device=logits.device, dtype=logits.dtype))


@dataclass(frozen=True)
class DiscriminatorConfig:
    """Discriminator hyperparameters (defaults: Table 5, Morpho-MNIST, whose three stride-2 levels suit 48 x 48
    slices; Table 6's 64^3 brain network has four).

    Attributes:
        features: nf; the levels have nf, 2nf, 4nf, 8nf channels (the code's ``Discriminator(nf=32)``).
        channels: C of the images.
        dropout: before the output conv (Tables 5-6: "D" 0.5 on the last level; code ``nn.Dropout(0.5)``).
        negative_slope: of the LeakyReLU activations (0.2, ours, as CycleGAN's discriminator; Tables 5-6 and
            the code use ReLU, i.e. 0.0).
    """

    features: int = 32
    channels: int = IMAGE_CHANNELS
    dropout: float = 0.5
    negative_slope: float = 0.2

    def __post_init__(self) -> None:
        check_int("DiscriminatorConfig", "features", self.features, 1)
        check_int("DiscriminatorConfig", "channels", self.channels, 1)
        if not 0 <= self.dropout < 1:
            raise ValueError(f"DiscriminatorConfig.dropout must be in [0, 1), got {self.dropout!r}")
        if not 0 <= self.negative_slope < 1:
            raise ValueError(f"DiscriminatorConfig.negative_slope must be in [0, 1), got {self.negative_slope!r}")


class Discriminator(MetaBuilt):
    """Fully-convolutional domain classifier ``[B, C, H, W] -> [B]`` logits (Table 5).

    conv3x3 C -> nf (no norm), then three stride-2 conv3x3 levels to 2nf, 4nf, 8nf with InstanceNorm (no
    affine, PyTorch's default) and LeakyReLU, dropout, and a conv3x3 8nf -> 1 whose logit map is averaged over
    H W (ours: the paper's last strided conv reduces a fixed-size map to 1 x 1). H, W >= 16 (InstanceNorm needs
    more than one pixel at H/8). Initialisation: the code's N(0, 0.02) convs. Parameters: nf 32, C 3: 390,721;
    nf 8: 25,105.
    """

    def __init__(self, config: DiscriminatorConfig = DiscriminatorConfig(), *,
                 generator: torch.Generator | None = None, device: torch.device | str = "cpu") -> None:
        super().__init__()
        self.config = config
        f, slope = config.features, config.negative_slope
        with torch.device("meta"):
            layers: list[nn.Module] = [nn.Conv2d(config.channels, f, 3, padding=1), nn.LeakyReLU(slope)]
            for c_in, c_out in ((f, 2 * f), (2 * f, 4 * f), (4 * f, 8 * f)):
                layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.InstanceNorm2d(c_out),
                           nn.LeakyReLU(slope)]
            self.features = nn.Sequential(*layers)
            self.output = nn.Conv2d(8 * f, 1, 3, padding=1)
        self.materialize(device, generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        reset_gan_init(self, generator)

    def forward(self, u: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Logits ``[B]`` (``sigmoid`` = probability of a real target image); ``generator`` draws the dropout
        mask in training mode."""
        x = dropout(self.features(u), self.config.dropout, self.training, generator, "Discriminator")
        return self.output(x).mean(dim=(1, 2, 3))


@dataclass(frozen=True)
class TaskCNNConfig:
    """Task CNN hyperparameters.

    Attributes:
        outputs: K, 2 class logits for sex (cross-entropy) or 1 value for age (MSE / L1).
        features: nf; four stride-2 conv5x5 levels at nf, 2nf, 4nf, 8nf (Table 6, sex classifier: 8, 16, 32, 64).
        channels: C of the images.
    """

    outputs: int = 2
    features: int = 8
    channels: int = IMAGE_CHANNELS

    def __post_init__(self) -> None:
        for name in ("outputs", "features", "channels"):
            check_int("TaskCNNConfig", name, getattr(self, name), 1)


class TaskCNN(MetaBuilt):
    """Classifier / regressor ``[B, C, H, W] -> [B, K]`` raw outputs (logits or values).

    Table 6's sex classifier: stride-2 conv5x5 + ReLU at nf (no norm), then conv5x5 + BN + ReLU at 2nf, 4nf, 8nf
    (stride 2); ours: global average pooling and a linear layer 8nf -> K replace its last strided convs (any
    H W) and there is no dropout (the iteration trains any module with one call, ``task(images)``). PyTorch's
    default initialisation. Parameters: nf 8, C 3: 68,274 for K = 2, 68,209 for K = 1.
    """

    def __init__(self, config: TaskCNNConfig = TaskCNNConfig(), *, generator: torch.Generator | None = None,
                 device: torch.device | str = "cpu") -> None:
        super().__init__()
        self.config = config
        f = config.features
        with torch.device("meta"):
            self.features = nn.Sequential(
                conv_block(config.channels, f, 2, kernel_size=5, norm=False), conv_block(f, 2 * f, 2, kernel_size=5),
                conv_block(2 * f, 4 * f, 2, kernel_size=5), conv_block(4 * f, 8 * f, 2, kernel_size=5),
                nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.head = nn.Linear(8 * f, config.outputs)
        self.materialize(device, generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        reset_default(self, generator)

    def forward(self, u: Tensor) -> Tensor:
        return self.head(self.features(u))
