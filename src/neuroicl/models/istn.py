"""ISTN, image-and-spatial transformer networks for image-level domain adaptation (Robinson et al., MICCAI 2020).

An ISTN maps a source-site image to the target site in two explainable stages (Sec. 2, "Models"): an image
transformer network (ITN, appearance) whose output feeds a spatial transformer network (STN, shape):

    u          [B, C, H, W]   the image in ISTN space (below)
    ITN(u)     [B, C, H, W]   = tanh(atanh(u) + g(u)), g a small U-Net (:class:`ITN`)
    STN(v)     [B, C, H, W]   = v resampled at identity + displacement [B, 2, H, W] (:class:`AffineSTN`,
                               :class:`BSplineSTN`); affine and B-spline are never composed (Sec. 2, STN)

**Intensity convention (ISTN space).** Our slices are in [0, 1] (percentile normalisation); the networks see
``u = tanh(2x - 1)`` (:func:`to_istn_space`): the intensities are first mapped to the paper's [-1, 1]
("All input images are pre-normalized to the [-1, 1] intensity range", Sec. 2, ITN) and then passed through
tanh, as the paper's brain MRI are ("Images are passed through a tanh function before being consumed by the
networks", Sec. 3.2; the code's ``normalizer: tanh``). Every network of this module (ITN, STN, discriminator,
task model) reads and writes ISTN space; :func:`from_istn_space` maps back for figures.

**Identity at initialisation.** The code adds the input itself before the final tanh (``models/itn.py``,
``ITN3D.forward``: ``out = self.output(...) + x; return torch.tanh(out)``), which at a zero correction gives
``tanh(u) != u``. We add the residual in tanh's pre-activation space, ``atanh(u) = 2x - 1``, and zero-initialise
the final convolution (ours; the code draws it from N(0, 0.02)), so ``ITN(u) = tanh(atanh(u)) = u`` to float
rounding at initialisation. The STN heads are zero-initialised as in the code (``AffineSTN3D.__init__``:
"initialize the weights/bias with identity transformation"; ours also for the B-spline head, whose zero init is
commented out in ``biomedia-mira/istn`` ``BSplineSTN2D`` and absent in the DA code's ``BSplineSTN3D``), so the
transform is the identity and the resampling returns the input to float rounding (``align_corners=False``
throughout, below).

**Resampling.** Coordinates are those of ``F.affine_grid``/``F.grid_sample`` with ``align_corners=False``: x
(along W) and y (along H) in [-1, 1] from the outer edge of the first pixel to that of the last, so the identity
grid hits pixel centres exactly. Bilinear interpolation ("Linear interpolation is used throughout", Sec. 2);
``padding_mode="border"`` (ours: the code pads zeros, which is its skull-stripped background ``tanh(0)``; our
background is ``tanh(-1)``, and a skull-stripped slice's border is background).

Dropout (ITN) draws its masks from an explicit ``torch.Generator`` (:func:`sample_keep_mask` /
:func:`apply_dropout`); a network in training mode with dropout refuses to run without one. The discriminator,
soft labels and task CNN are in :mod:`neuroicl.models.istn_critics`.

Parameter counts (C = 3, nf 8; :meth:`ISTN.parameter_count` reads them off a meta-built model): ITN 129,323;
affine STN 18,534 (any H W); B-spline STN 98,562 (48 x 48, spacing 8); ISTN itn+affine 147,857, itn+bspline
227,885.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuroicl.models.base import IMAGE_CHANNELS, check_int
from neuroicl.models.blocks import reset_conv_default

#: ISTN modes: ITN only, an STN only, or ITN followed by an STN (Table 1; affine and B-spline never composed).
MODES = ("itn", "affine", "bspline", "itn+affine", "itn+bspline")
#: The ITN's dropout probability (Table 6: "D" 0.5 on the up blocks; code ``nn.Dropout(0.5)``).
DROPOUT = 0.5
#: Standard deviation of the code's conv initialisation (``utils/model_utils.py``, ``initialize_weights``).
INIT_STD = 0.02
#: Bounds of the affine parameters, each ``bound * tanh(head)`` (code ``STN2D.affine_matrix``): translation in
#: normalised units, rotation and shear angles in radians, log-scale (scale factors in [e^-0.2, e^0.2]).
AFFINE_BOUNDS = {"translation": 0.1, "rotation": math.pi / 4, "scale": 0.2, "shear": math.pi / 4}
#: Clamp of atanh's argument on the ITN's residual path (|atanh| <= 7.3): an output saturated at +-1 stays finite.
ATANH_EPS = 1e-6


def to_istn_space(x: Tensor) -> Tensor:
    """Intensities ``x`` in [0, 1] -> ISTN space ``tanh(2x - 1)`` in [-tanh 1, tanh 1] (module docstring)."""
    return torch.tanh(2 * x - 1)


def from_istn_space(u: Tensor) -> Tensor:
    """ISTN space -> intensities, ``(atanh(u) + 1) / 2`` (the inverse of :func:`to_istn_space`)."""
    return (torch.atanh(u.clamp(-1 + ATANH_EPS, 1 - ATANH_EPS)) + 1) / 2


def sample_keep_mask(shape: torch.Size | tuple[int, ...], p: float, generator: torch.Generator) -> Tensor:
    """Dropout's keep mask ``shape`` (True with probability ``1 - p``), drawn on ``generator.device``."""
    return torch.rand(tuple(shape), generator=generator, device=generator.device) >= p


def apply_dropout(x: Tensor, keep: Tensor, p: float) -> Tensor:
    """Inverted dropout: ``x * keep / (1 - p)`` (``p < 1``), the mask moved to ``x``'s device."""
    return x * keep.to(device=x.device, dtype=x.dtype) / (1 - p)


def dropout(x: Tensor, p: float, training: bool, generator: torch.Generator | None, owner: str) -> Tensor:
    """``x`` with dropout ``p`` drawn from ``generator`` in training (identity otherwise or if ``p == 0``)."""
    if not training or p == 0:
        return x
    if generator is None:
        raise ValueError(f"{owner} is in training mode with dropout {p}: pass generator= (a torch.Generator) "
                         "to draw the dropout masks, or call .eval()")
    return apply_dropout(x, sample_keep_mask(x.shape, p, generator), p)


def conv_block(c_in: int, c_out: int, stride: int = 1, kernel_size: int = 3, norm: bool = True) -> nn.Sequential:
    """Conv (``kernel_size``, 'same' padding, ``stride``) + BatchNorm (if ``norm``) + ReLU."""
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=kernel_size // 2)]
    if norm:
        layers.append(nn.BatchNorm2d(c_out))
    return nn.Sequential(*layers, nn.ReLU())


def reset_gan_init(module: nn.Module, generator: torch.Generator | None) -> None:
    """The code's ``initialize_weights`` on every layer of ``module``: conv weights N(0, 0.02), conv biases
    PyTorch's default, BatchNorm weights N(1, 0.02) and biases 0 (running statistics reset)."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            reset_conv_default(layer, generator)
            nn.init.normal_(layer.weight, 0.0, INIT_STD, generator=generator)
        elif isinstance(layer, nn.BatchNorm2d):
            layer.reset_running_stats()
            nn.init.normal_(layer.weight, 1.0, INIT_STD, generator=generator)
            nn.init.zeros_(layer.bias)


def reset_default(module: nn.Module, generator: torch.Generator | None) -> None:
    """PyTorch's default initialisation of every conv, linear and BatchNorm layer, drawn from ``generator``."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.Linear):
            reset_conv_default(layer, generator)  # the same Kaiming-uniform rule for Linear
        elif isinstance(layer, nn.BatchNorm2d):
            layer.reset_running_stats()
            layer.reset_parameters()


class MetaBuilt(nn.Module):
    """A network built on the meta device, then moved to ``device`` and initialised from a generator."""

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        raise NotImplementedError

    def materialize(self, device: torch.device | str, generator: torch.Generator | None) -> None:
        """Move the meta-built layers to ``device`` and initialise them; a no-op on ``meta``."""
        if torch.device(device).type == "meta":
            return
        self.to_empty(device=device)
        with torch.no_grad():
            self.reset_parameters(generator)


class ITN(MetaBuilt):
    """Image transformer network: a small U-Net with a residual to the input (Table 6, ITN; code ``ITN3D``).

    ``[B, C, H, W] -> [B, C, H, W]`` in ISTN space. Encoder: conv3x3 + BN + ReLU at nf, then three stride-2
    levels at 2nf, 4nf, 8nf and two bottleneck blocks at 8nf. Decoder: three 'up' blocks (bilinear upsampling to
    the skip's size, conv3x3, ReLU; no BN, as in the code; Table 6 lists BN), each output concatenated with the
    skip and dropped out (p = 0.5). A final conv 2nf -> C, zero-initialised, gives the correction ``g``;
    ``ITN(u) = tanh(atanh(u) + g)``. Any H W >= 8 (the upsampling follows the skip sizes).
    Parameters: nf 8, C 3: 129,323.
    """

    def __init__(self, features: int = 8, channels: int = IMAGE_CHANNELS, p: float = DROPOUT, *,
                 generator: torch.Generator | None = None, device: torch.device | str = "cpu") -> None:
        super().__init__()
        check_int("ITN", "features", features, 1)
        check_int("ITN", "channels", channels, 1)
        if not 0 <= p < 1:
            raise ValueError(f"ITN dropout must be in [0, 1), got {p!r}")
        f, self.p = features, p
        with torch.device("meta"):
            self.down = nn.ModuleList([conv_block(channels, f), conv_block(f, 2 * f, 2),
                                       conv_block(2 * f, 4 * f, 2), conv_block(4 * f, 8 * f, 2)])
            self.bottleneck = nn.Sequential(conv_block(8 * f, 8 * f), conv_block(8 * f, 8 * f))
            # up convs read the upsampled features (+ the previous skip): 8f -> 4f, 8f -> 2f, 4f -> f
            self.up = nn.ModuleList([nn.Conv2d(8 * f, 4 * f, 3, padding=1), nn.Conv2d(8 * f, 2 * f, 3, padding=1),
                                     nn.Conv2d(4 * f, f, 3, padding=1)])
            self.output = nn.Conv2d(2 * f, channels, 3, padding=1)
        self.materialize(device, generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """The code's N(0, 0.02) init, then the final conv zeroed (identity at initialisation)."""
        reset_gan_init(self, generator)
        nn.init.zeros_(self.output.weight)
        nn.init.zeros_(self.output.bias)

    def correction(self, u: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """The U-Net's output ``g [B, C, H, W]`` (zero at initialisation)."""
        skips = []
        x = u
        for block in self.down:
            x = block(x)
            skips.append(x)  # [B, nf, H, W], [B, 2nf, H/2, W/2], [B, 4nf, ...], [B, 8nf, ...]
        x = self.bottleneck(skips.pop())
        for conv in self.up:
            skip = skips.pop()
            x = F.relu(conv(F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)))
            x = dropout(torch.cat([x, skip], dim=1), self.p, self.training, generator, "ITN")
        return self.output(x)

    def forward(self, u: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """``tanh(atanh(u) + g(u))``, ``[B, C, H, W]``; ``generator`` draws the dropout masks in training."""
        residual = torch.atanh(u.clamp(-1 + ATANH_EPS, 1 - ATANH_EPS))
        return torch.tanh(residual + self.correction(u, generator))


class STNEncoder(nn.Sequential):
    """The STNs' feature extractor, after the code's ``AffineSTN3D``: conv3x3 + BN + ReLU at nf, then stride 2 at
    2nf, 4nf, 4nf (the code has one more stride-2 level for its 64^3 volumes), adaptively averaged to 4 x 4 (ours:
    any H W; the code flattens its 4^3 map) and flattened: ``[B, C, H, W] -> [B, 64 nf]``."""

    def __init__(self, features: int, channels: int) -> None:
        f = features
        super().__init__(conv_block(channels, f), conv_block(f, 2 * f, 2), conv_block(2 * f, 4 * f, 2),
                         conv_block(4 * f, 4 * f, 2), nn.AdaptiveAvgPool2d(4), nn.Flatten())
        self.out_features = 4 * f * 16


def identity_grid(b: int, h: int, w: int, like: Tensor) -> Tensor:
    """The identity sampling grid ``[B, H, W, 2]`` (x, y; ``align_corners=False``)."""
    theta = torch.eye(2, 3, dtype=like.dtype, device=like.device).expand(b, 2, 3)
    return F.affine_grid(theta, [b, 1, h, w], align_corners=False)


def warp(v: Tensor, grid: Tensor) -> Tensor:
    """``v [B, C, H, W]`` resampled bilinearly at ``grid [B, H, W, 2]`` (border padding, ``align_corners=False``)."""
    return F.grid_sample(v, grid, mode="bilinear", padding_mode="border", align_corners=False)


def warp_with_field(v: Tensor, displacement: Tensor) -> Tensor:
    """``v [B, C, H, W]`` resampled at identity + ``displacement [B, 2, H, W]`` (an STN's second output): the
    same transform the STN applied to its input, e.g. for source label maps that must move with the image."""
    b, _, h, w = v.shape
    return warp(v, identity_grid(b, h, w, v) + displacement.permute(0, 2, 3, 1))


def rotation_matrix(angle: Tensor) -> Tensor:
    """``[B, 2, 2]`` rotations by ``angle [B]`` (radians)."""
    cos, sin = angle.cos(), angle.sin()
    return torch.stack([torch.stack([cos, -sin], dim=-1), torch.stack([sin, cos], dim=-1)], dim=-2)


def affine_matrix(params: dict[str, Tensor]) -> Tensor:
    """``theta [B, 2, 3]`` from bounded parameters (code ``STN2D.affine_matrix``): ``M = Sh Sc Sh^T R T`` with
    translation ``t [B, 2]``, rotation angle ``[B, 1]``, log-scales ``[B, 2]`` and shear angle ``[B, 1]`` (the
    code's "shear" is a rotation, so ``Sh Sc Sh^T`` is a stretch along rotated axes); with ``A = Sh Sc Sh^T R``,
    ``theta = [A | A t]``. All zero: the identity ``[[1, 0, 0], [0, 1, 0]]``."""
    sh = rotation_matrix(params["shear"][:, 0])
    stretch = sh @ torch.diag_embed(params["scale"].exp()) @ sh.transpose(1, 2)
    linear = stretch @ rotation_matrix(params["rotation"][:, 0])
    return torch.cat([linear, linear @ params["translation"].unsqueeze(-1)], dim=2)


class AffineSTN(MetaBuilt):
    """Affine STN: four zero-initialised linear heads (translation 2, rotation 1, scale 2, shear 1) on
    :class:`STNEncoder`, each bounded as ``AFFINE_BOUNDS[name] * tanh(head)`` (code ``STN2D``).

    ``forward(v) -> (warped [B, C, H, W], displacement [B, 2, H, W])``. Parameters: nf 8, C 3: 18,534.
    """

    def __init__(self, features: int = 8, channels: int = IMAGE_CHANNELS, *,
                 generator: torch.Generator | None = None, device: torch.device | str = "cpu") -> None:
        super().__init__()
        check_int("AffineSTN", "features", features, 1)
        check_int("AffineSTN", "channels", channels, 1)
        with torch.device("meta"):
            self.encoder = STNEncoder(features, channels)
            n = self.encoder.out_features
            self.heads = nn.ModuleDict({"translation": nn.Linear(n, 2), "rotation": nn.Linear(n, 1),
                                        "scale": nn.Linear(n, 2), "shear": nn.Linear(n, 1)})
        self.materialize(device, generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """PyTorch's defaults for the encoder; heads zero (the identity transform)."""
        reset_default(self.encoder, generator)
        for head in self.heads.values():
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)

    def parameters_of(self, v: Tensor) -> dict[str, Tensor]:
        """The bounded affine parameters of ``v [B, C, H, W]`` (all zero at initialisation)."""
        features = self.encoder(v)
        return {name: AFFINE_BOUNDS[name] * torch.tanh(head(features)) for name, head in self.heads.items()}

    def forward(self, v: Tensor) -> tuple[Tensor, Tensor]:
        b, _, h, w = v.shape
        grid = F.affine_grid(affine_matrix(self.parameters_of(v)), [b, 1, h, w], align_corners=False)
        return warp(v, grid), (grid - identity_grid(b, h, w, v)).permute(0, 3, 1, 2)


def cubic_bspline(t: Tensor) -> Tensor:
    """The cubic B-spline ``beta3(t)``: ``2/3 - t^2 + |t|^3 / 2`` for ``|t| < 1``, ``(2 - |t|)^3 / 6`` for
    ``1 <= |t| < 2``, else 0. Piecewise cubic, C2, non-negative, and its integer shifts sum to 1."""
    a = t.abs()
    return torch.where(a < 1, 2 / 3 - a**2 + a**3 / 2, torch.where(a < 2, (2 - a).clamp(min=0) ** 3 / 6, 0.0))


def control_points(size: int, spacing: int) -> int:
    """Control points along an axis of ``size`` pixels at ``spacing``: the fewest centred ones whose cubic
    B-splines sum to 1 at every pixel, ``ceil((size - 1) / spacing) + 3`` (the code adds one per side too)."""
    return math.ceil((size - 1) / spacing) + 3


def bspline_basis(size: int, spacing: int, device: torch.device | str = "cpu",
                  dtype: torch.dtype = torch.float32) -> Tensor:
    """``basis [size, K]``: ``beta3((p - x_k) / spacing)`` at pixel p for the K centred control points
    ``x_k = (size - 1) / 2 + (k - (K - 1) / 2) * spacing``; every row sums to 1."""
    k = control_points(size, spacing)
    centres = (size - 1) / 2 + (torch.arange(k, dtype=torch.float64) - (k - 1) / 2) * spacing
    pixels = torch.arange(size, dtype=torch.float64)
    return cubic_bspline((pixels[:, None] - centres[None, :]) / spacing).to(device=device, dtype=dtype)


def bspline_field(coefficients: Tensor, size: tuple[int, int], spacing: int) -> Tensor:
    """The dense field ``[B, 2, H, W]`` of control-point displacements ``[B, 2, Kh, Kw]``: separable cubic
    B-spline interpolation ``basis_H @ coefficients @ basis_W^T``.

    Ours: an exact basis-matrix product (``H * Kh`` weights, trivial at 48 x 48) in place of the code's transposed
    convolution with a box-filter-cubed kernel and its crop arithmetic (``BSplineSTN2D.compute_displacement``);
    the two are the same separable linear map up to the kernel's discretisation. A partition of unity: the field
    lies in the convex hull of the coefficients, so ``|field| <= max |coefficient|``.
    """
    bh = bspline_basis(size[0], spacing, coefficients.device, coefficients.dtype)
    bw = bspline_basis(size[1], spacing, coefficients.device, coefficients.dtype)
    return torch.einsum("hk,bckl,wl->bchw", bh, coefficients, bw)


class BSplineSTN(MetaBuilt):
    """B-spline STN: a zero-initialised linear head on :class:`STNEncoder` regresses control-point displacements
    ``max_displacement * tanh(head)`` on a grid of ``spacing`` pixels (code ``BSplineSTN2D``; paper Table 2
    "B-spline (8)"), interpolated to a dense field by cubic B-splines (:func:`bspline_field`).

    Built for ``image_size`` (the head's width depends on it). ``forward(v) -> (warped, displacement
    [B, 2, H, W])``, ``|displacement| <= max_displacement`` (normalised units). Parameters: nf 8, C 3, 48 x 48,
    spacing 8 (9 x 9 control points): 98,562.
    """

    def __init__(self, image_size: tuple[int, int], features: int = 8, channels: int = IMAGE_CHANNELS,
                 spacing: int = 8, max_displacement: float = 0.1, *,
                 generator: torch.Generator | None = None, device: torch.device | str = "cpu") -> None:
        super().__init__()
        for name, value in (("features", features), ("channels", channels), ("spacing", spacing)):
            check_int("BSplineSTN", name, value, 1)
        if not 0 < max_displacement <= 1:
            raise ValueError(f"BSplineSTN.max_displacement must be in (0, 1] (normalised units), "
                             f"got {max_displacement}")
        self.image_size, self.spacing, self.max_displacement = tuple(image_size), spacing, max_displacement
        self.grid = (control_points(image_size[0], spacing), control_points(image_size[1], spacing))
        with torch.device("meta"):
            self.encoder = STNEncoder(features, channels)
            self.head = nn.Linear(self.encoder.out_features, 2 * self.grid[0] * self.grid[1])
        self.materialize(device, generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """PyTorch's defaults for the encoder; the head zero (no displacement)."""
        reset_default(self.encoder, generator)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def coefficients(self, v: Tensor) -> Tensor:
        """Control-point displacements ``[B, 2, Kh, Kw]`` (x, y; normalised units) of ``v [B, C, H, W]``."""
        if tuple(v.shape[-2:]) != self.image_size:
            raise ValueError(f"BSplineSTN was built for {self.image_size} images, got {tuple(v.shape[-2:])}")
        out = self.max_displacement * torch.tanh(self.head(self.encoder(v)))
        return out.view(-1, 2, *self.grid)

    def forward(self, v: Tensor) -> tuple[Tensor, Tensor]:
        field = bspline_field(self.coefficients(v), tuple(v.shape[-2:]), self.spacing)
        return warp_with_field(v, field), field


@dataclass(frozen=True)
class ISTNConfig:
    """ISTN hyperparameters (defaults: the demo's 48 x 48 slices).

    Attributes:
        mode: one of :data:`MODES`.
        image_size: H = W of the slices (the B-spline head's width depends on it).
        features: nf of the ITN and the STN encoder (Table 6: 8; the code's config: 6, shared by all networks).
        channels: C of the images.
        dropout: the ITN's dropout probability.
        spacing: B-spline control-point spacing in pixels (code config ``cp_spacing`` 8).
        max_displacement: B-spline displacement bound, normalised units (code config ``max_displacement`` 0.1).
    """

    mode: str = "itn+affine"
    image_size: int = 48
    features: int = 8
    channels: int = IMAGE_CHANNELS
    dropout: float = DROPOUT
    spacing: int = 8
    max_displacement: float = 0.1

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"ISTNConfig.mode must be one of {MODES}, got {self.mode!r}")
        for name in ("image_size", "features", "channels", "spacing"):
            check_int("ISTNConfig", name, getattr(self, name), 1)
        if not 0 <= self.dropout < 1:
            raise ValueError(f"ISTNConfig.dropout must be in [0, 1), got {self.dropout!r}")
        if not 0 < self.max_displacement <= 1:
            raise ValueError(f"ISTNConfig.max_displacement must be in (0, 1] (normalised units), "
                             f"got {self.max_displacement!r}")


class ISTN(nn.Module):
    """``STN(ITN(u))`` (either part optional, by ``config.mode``), ``[B, C, H, W] -> [B, C, H, W]``.

    ``forward(u, generator) -> (output, displacement [B, 2, H, W])``, the STN's dense displacement in
    normalised (x, y) units for figures (zeros without an STN). The ITN and STN are trained jointly
    (Sec. 2, "Training"). Parameters, nf 8, 48 x 48: itn 129,323; itn+affine 147,857; itn+bspline 227,885.
    """

    def __init__(self, config: ISTNConfig = ISTNConfig(), *, generator: torch.Generator | None = None,
                 device: torch.device | str = "cpu") -> None:
        super().__init__()
        self.config = config
        c, f = config.channels, config.features
        build = {"generator": generator, "device": device}
        self.itn = ITN(f, c, config.dropout, **build) if config.mode.startswith("itn") else None
        self.stn: AffineSTN | BSplineSTN | None = None
        if config.mode.endswith("affine"):
            self.stn = AffineSTN(f, c, **build)
        elif config.mode.endswith("bspline"):
            size = (config.image_size, config.image_size)
            self.stn = BSplineSTN(size, f, c, config.spacing, config.max_displacement, **build)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        for part in (self.itn, self.stn):
            if part is not None:
                part.reset_parameters(generator)

    def forward(self, u: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        if u.ndim != 4 or u.shape[1] != self.config.channels:
            raise ValueError(f"ISTN input must be [B, {self.config.channels}, H, W], got {tuple(u.shape)}")
        v = self.itn(u, generator) if self.itn is not None else u
        if self.stn is None:
            return v, v.new_zeros(v.shape[0], 2, *v.shape[-2:])
        return self.stn(v)

    @staticmethod
    def parameter_count(config: ISTNConfig) -> int:
        """The number of parameters of an ISTN with ``config`` (built on the meta device)."""
        return sum(p.numel() for p in ISTN(config, device="meta").parameters())
