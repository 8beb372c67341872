"""MetaSeg ("Fit Pixels, Get Labels", Vyas et al.): a meta-learned SIREN whose features feed a segmentation head.

An INR maps pixel coordinates in [-1, 1]^2 to intensities: a first sine layer 2 -> W, ``hidden`` sine layers
W -> W, a linear layer W -> C (SIREN, Sitzmann et al. 2020; ``sin(omega0 (x W^T + b))``, omega0 = 30). The
segmentation head reads the last sine layer's features: Linear(W -> W), LeakyReLU(0.01), Linear(W -> K).

* **Meta-learning** (stage 1) finds an initialisation theta from which a few inner Adam steps fit any
  (image, mask) pair (:func:`meta_gradient`).
* **Head tuning** (stage 2) freezes theta*, fits each training image's pixels from it (MSE only) and trains
  the head on the fitted features (:func:`fit_pixels`, :func:`focal_loss`).
* **Inference** fits the test image's pixels from theta* for T steps (no label is read) and applies the head
  once (:meth:`MetaSeg.segment`).

Every fit is batched: each of the B images gets its own copy of the INR weights, stacked along a leading
dimension (``[B, out, in]``), and the losses are summed over images, so one batched fit equals B
sequential fits (Adam is elementwise). Shapes: B images, N pixels, W width, C image channels, K classes.

Example:
    >>> model = MetaSeg(MetaSegConfig(width=16, hidden=2), generator=torch.Generator().manual_seed(0))
    >>> probs = model.segment(images)  # images [B, C, H, W] -> [B, K, H, W], fitted for model.config.steps
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuroicl.models.base import IMAGE_CHANNELS, Predictor, check_inputs, check_int
from neuroicl.models.losses import Objective

#: Weights by name: INR ``inr.<i>.weight`` ``[(B,) out, in]`` and ``inr.<i>.bias`` ``[(B,) out]``, head ``head.<i>.*``.
Params = dict[str, Tensor]

LEAKY_SLOPE = 0.01
#: The meta-gradient variants: the reference code's second-order MAML, its first-order approximation, and
#: the Reptile-like difference of the paper's Eq. 3.
META_ORDERS = ("second", "first", "reptile")


@dataclass(frozen=True)
class MetaSegConfig:
    """MetaSeg hyperparameters (defaults: the paper's 5-class 2-D configuration, W = 128 with 4 hidden layers).

    Attributes:
        width: features W of every sine layer and of the head's hidden layer.
        hidden: sine layers W -> W after the first.
        omega0: SIREN frequency of every sine layer.
        classes: K head outputs (2 for our binary tasks).
        channels: C image channels the INR reconstructs.
        steps: T test-time fitting steps (MSE only).
        lr: Adam learning rate of every fit (the reference code: 1e-4).
        fit_subset: pixels each test-time fitting step reads, one random subset shared by the batch's images
            (None: all; ours, 5x faster at 48 x 48 with the same Dice, docs/models.md).
    """

    width: int = 128
    hidden: int = 4
    omega0: float = 30.0
    classes: int = 2
    channels: int = IMAGE_CHANNELS
    steps: int = 100
    lr: float = 1e-4
    fit_subset: int | None = None

    def __post_init__(self) -> None:
        for name, minimum in (("width", 1), ("hidden", 0), ("classes", 2), ("channels", 1), ("steps", 0)):
            check_int("MetaSegConfig", name, getattr(self, name), minimum)
        if self.fit_subset is not None:
            check_int("MetaSegConfig", "fit_subset", self.fit_subset, 1)
        if not self.omega0 > 0 or not self.lr > 0:
            raise ValueError(f"MetaSegConfig: omega0 and lr must be > 0, got {self.omega0}, {self.lr}")

    @property
    def sine_layers(self) -> int:
        return self.hidden + 1


def init_inr(config: MetaSegConfig, generator: torch.Generator | None = None, device: str | torch.device = "cpu"
             ) -> Params:
    """SIREN weights: first layer U(±1/in), the others (and the output layer) U(±sqrt(6/in)/omega0); biases as
    ``nn.Linear`` (U(±1/sqrt(in)))."""
    sizes = [2] + [config.width] * config.sine_layers + [config.channels]
    params = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        bound = 1 / fan_in if i == 0 else math.sqrt(6 / fan_in) / config.omega0
        params[f"inr.{i}.weight"] = _uniform((fan_out, fan_in), bound, generator, device)
        params[f"inr.{i}.bias"] = _uniform((fan_out,), 1 / math.sqrt(fan_in), generator, device)
    return params


def init_head(config: MetaSegConfig, generator: torch.Generator | None = None, device: str | torch.device = "cpu"
              ) -> Params:
    """Head weights as ``nn.Linear``'s default (U(±1/sqrt(in)) for weights and biases)."""
    params = {}
    for i, (fan_in, fan_out) in enumerate(((config.width, config.width), (config.width, config.classes))):
        params[f"head.{i}.weight"] = _uniform((fan_out, fan_in), 1 / math.sqrt(fan_in), generator, device)
        params[f"head.{i}.bias"] = _uniform((fan_out,), 1 / math.sqrt(fan_in), generator, device)
    return params


def _uniform(shape: tuple[int, ...], bound: float, generator: torch.Generator | None, device) -> Tensor:
    return (torch.rand(shape, generator=generator, device="cpu") * 2 - 1).mul_(bound).to(device)


def _linear(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """``x [B, N, in]`` through per-image ``weight [B, out, in]`` (or one shared ``[out, in]``)."""
    if weight.ndim == 2:
        return F.linear(x, weight, bias)
    return torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))


def inr_forward(params: Params, coords: Tensor, config: MetaSegConfig) -> tuple[Tensor, Tensor]:
    """Intensities ``[B, N, C]`` and last sine features ``[B, N, W]`` at ``coords [B, N, 2]``."""
    x = coords
    for i in range(config.sine_layers):
        x = torch.sin(config.omega0 * _linear(x, params[f"inr.{i}.weight"], params[f"inr.{i}.bias"]))
    last = config.sine_layers
    return _linear(x, params[f"inr.{last}.weight"], params[f"inr.{last}.bias"]), x


def head_forward(params: Params, features: Tensor) -> Tensor:
    """Class logits ``[B, N, K]`` of features ``[B, N, W]``."""
    hidden = F.leaky_relu(_linear(features, params["head.0.weight"], params["head.0.bias"]), LEAKY_SLOPE)
    return _linear(hidden, params["head.1.weight"], params["head.1.bias"])


def focal_loss(logits: Tensor, labels: Tensor, gamma: float) -> Tensor:
    """Multi-class focal loss per image ``[B]``: mean over pixels of ``-(1 - p_y)^gamma log p_y`` (no class
    weights), of logits ``[B, N, K]`` and integer labels ``[B, N]``."""
    log_p = F.log_softmax(logits, dim=-1).gather(-1, labels.long().unsqueeze(-1)).squeeze(-1)
    return (-(1 - log_p.exp()).pow(gamma) * log_p).mean(dim=1)


def grid_coords(h: int, w: int, device: str | torch.device = "cpu") -> Tensor:
    """Pixel-centre coordinates ``[H*W, 2]`` in [-1, 1]^2, row-major (y, x)."""
    ys = torch.linspace(-1, 1, h, device=device)
    xs = torch.linspace(-1, 1, w, device=device)
    return torch.stack(torch.meshgrid(ys, xs, indexing="ij"), dim=-1).reshape(-1, 2)


def batched(params: Params, b: int) -> Params:
    """Each weight repeated for ``b`` images along a new leading dimension (the graph to ``params`` kept)."""
    return {name: value.unsqueeze(0).expand(b, *value.shape) for name, value in params.items()}


@dataclass
class AdamState:
    """Functional Adam moments (the reference code's inner optimiser; differentiable)."""

    m: Params
    v: Params
    step: int = 0

    @classmethod
    def zeros(cls, params: Params) -> AdamState:
        return cls({k: torch.zeros_like(p) for k, p in params.items()},
                   {k: torch.zeros_like(p) for k, p in params.items()})


def adam_step(params: Params, grads: Params, state: AdamState, lr: float, betas: tuple[float, float] = (0.9, 0.999),
              eps: float = 1e-8) -> tuple[Params, AdamState]:
    """One Adam update of ``params`` (only the names in ``grads``); differentiable if the grads carry a graph."""
    step = state.step + 1
    m, v, updated = dict(state.m), dict(state.v), dict(params)
    for name, grad in grads.items():
        m[name] = betas[0] * m[name] + (1 - betas[0]) * grad
        v[name] = betas[1] * v[name] + (1 - betas[1]) * grad * grad
        m_hat = m[name] / (1 - betas[0] ** step)
        v_hat = (v[name] / (1 - betas[1] ** step)).clamp_min(1e-12)
        updated[name] = params[name] - lr * m_hat / (v_hat.sqrt() + eps)
    return updated, AdamState(m, v, step)


#: ``loss(params, pixel_index) -> [B]`` per-image loss of a fit, on the pixels ``pixel_index [B, n]`` (None = all).
FitLoss = Callable[[Params, Tensor | None], Tensor]


def fit(params: Params, loss: FitLoss, names: list[str], steps: int, lr: float, *, create_graph: bool = False,
        pixels: int | None = None, n_pixels: int = 0, generator: torch.Generator | None = None,
        on_step: Callable[[int, Params], None] | None = None) -> Params:
    """``steps`` Adam steps on the per-image losses summed over images, updating the weights ``names``.

    ``params`` are per-image copies (:func:`batched`) and are never modified: the fit returns new tensors.
    ``create_graph``: keep the graph of every step (second-order meta-gradients); otherwise the steps'
    gradients are constants. ``pixels``: each step draws that many of the ``n_pixels`` pixels from
    ``generator``, one subset for every image, so that an image's fit does not depend on the batch (the demo's
    random coordinate subsets); None = all pixels. ``on_step(t, params)`` sees the weights after every step t
    (1-based; and t = 0 before the first): one trajectory read at several T (Dice against T, the paper's Fig. 2).
    """
    state = AdamState.zeros({k: params[k] for k in names})
    if on_step is not None:
        on_step(0, params)
    for step in range(steps):
        first = next(iter(params.values()))
        index = _subset(pixels, n_pixels, first.shape[0], generator, first.device)
        total = loss(params, index).sum()
        grads = torch.autograd.grad(total, [params[k] for k in names], create_graph=create_graph)
        params, state = adam_step(params, dict(zip(names, grads, strict=True)), state, lr)
        if not create_graph:
            params = {k: p.detach().requires_grad_(k in names) for k, p in params.items()}
        if on_step is not None:
            on_step(step + 1, params)
    return params


def _subset(pixels: int | None, n_pixels: int, b: int, generator: torch.Generator | None, device) -> Tensor | None:
    """``pixels`` of ``n_pixels`` pixel indices drawn from ``generator``, the same for each of the ``b`` images
    (``[b, pixels]``); None (every pixel) if ``pixels`` is None or not fewer than ``n_pixels``."""
    if pixels is None or pixels >= n_pixels:
        return None
    index = torch.rand(1, n_pixels, generator=generator, device="cpu").argsort(dim=1)[:, :pixels]
    return index.expand(b, -1).to(device)


def pixel_loss(config: MetaSegConfig, coords: Tensor, images: Tensor, labels: Tensor | None = None,
               gamma: float = 2.0) -> FitLoss:
    """The per-image fitting loss: MSE of the intensities ``images [B, N, C]``, plus (with ``labels [B, N]``)
    the head's focal loss, 1:1 (the paper's Eq. 1). ``coords``: ``[N, 2]`` shared by every image."""
    b = images.shape[0]

    def loss(params: Params, index: Tensor | None) -> Tensor:
        xy, target = coords.expand(b, -1, -1), images
        if index is not None:
            xy = xy.gather(1, index.unsqueeze(-1).expand(-1, -1, 2))
            target = target.gather(1, index.unsqueeze(-1).expand(-1, -1, target.shape[-1]))
        out, features = inr_forward(params, xy, config)
        value = (out - target).pow(2).mean(dim=(1, 2))
        if labels is not None:
            y = labels if index is None else labels.gather(1, index)
            value = value + focal_loss(head_forward(params, features), y, gamma)
        return value

    return loss


def meta_gradient(theta: Params, config: MetaSegConfig, coords: Tensor, images: Tensor, labels: Tensor | None, *,
                  inner_steps: int, order: str, gamma: float = 2.0, pixels: int | None = None,
                  outer_pixels: int | None = None, generator: torch.Generator | None = None) -> tuple[Params, float]:
    """The meta-gradient of ``theta`` (INR and, with labels, head weights; unbatched, ``requires_grad``) on a batch
    of B (image, mask) pairs, and the mean adapted loss.

    Each pair adapts its own copy of theta by ``inner_steps`` Adam steps on its loss (:func:`pixel_loss`; image
    only if ``labels`` is None); the outer loss is the adapted copies' loss, averaged over the batch, on all
    pixels or on ``outer_pixels`` of them drawn from ``generator`` after the inner steps' draws (ours, for time).
    ``order``: ``"second"`` differentiates through the inner steps (the reference code), ``"first"`` treats them
    as constants, ``"reptile"`` returns ``theta - mean(adapted)`` (the paper's Eq. 3).
    theta itself is never modified.
    """
    if order not in META_ORDERS:
        raise ValueError(f"MetaSeg meta order must be one of {META_ORDERS}, got {order!r}")
    b, names = images.shape[0], list(theta)
    loss = pixel_loss(config, coords, images, labels, gamma)
    copies = batched(theta, b)
    if order != "second":
        copies = {k: p.detach().clone().requires_grad_() for k, p in copies.items()}
    adapted = fit(copies, loss, names, inner_steps, config.lr, create_graph=order == "second", pixels=pixels,
                  n_pixels=coords.shape[0], generator=generator)
    if order == "reptile":
        with torch.no_grad():
            value = float(loss(adapted, None).mean())
        return {k: theta[k].detach() - adapted[k].detach().mean(dim=0) for k in names}, value
    outer = loss(adapted, _subset(outer_pixels, coords.shape[0], b, generator, coords.device)).mean()
    if order == "second":
        grads = torch.autograd.grad(outer, [theta[k] for k in names])
    else:  # d(outer)/d(copy_b) summed over the copies: the copies move with theta by a constant offset
        grads = [g.sum(dim=0) for g in torch.autograd.grad(outer, [adapted[k] for k in names])]
    return dict(zip(names, grads, strict=True)), float(outer.detach())


def fit_pixels(theta: Params, config: MetaSegConfig, images: Tensor, steps: int | None = None,
               generator: torch.Generator | None = None,
               on_step: Callable[[int, Params], None] | None = None) -> Params:
    """Per-image INR weights fitted from ``theta`` to ``images [B, C, H, W]`` for ``steps`` (default
    ``config.steps``) Adam steps on the MSE alone — no label is read. With ``config.fit_subset`` each step reads
    that many pixels drawn from ``generator`` (default: a fresh one seeded 0, so a fit is deterministic)."""
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    b, _, h, w = images.shape
    coords = grid_coords(h, w, images.device)
    pixels = images.permute(0, 2, 3, 1).reshape(b, h * w, -1)
    inr = {k: v.detach() for k, v in theta.items() if k.startswith("inr.")}
    copies = {k: p.clone().requires_grad_() for k, p in batched(inr, b).items()}
    with torch.enable_grad():
        fitted = fit(copies, pixel_loss(config, coords, pixels), list(copies), config.steps if steps is None else steps,
                     config.lr, pixels=config.fit_subset, n_pixels=h * w, generator=generator, on_step=on_step)
    return {k: v.detach() for k, v in fitted.items()}


def features_of(fitted: Params, config: MetaSegConfig, h: int, w: int) -> Tensor:
    """The last sine features ``[B, H*W, W]`` of fitted per-image weights on the ``h x w`` grid."""
    b = next(iter(fitted.values())).shape[0]
    coords = grid_coords(h, w, next(iter(fitted.values())).device).expand(b, -1, -1)
    with torch.no_grad():
        return inr_forward(fitted, coords, config)[1]


class MetaSeg(nn.Module, Predictor):
    """The trained model: the meta-learned INR initialisation theta* and the segmentation head.

    A test-time-fitting predictor: it ignores the context set, fits each target image's pixels from theta*
    (:func:`fit_pixels`) and returns the head's probability of class 1, replicated over the 3 channels.
    """

    def __init__(self, config: MetaSegConfig = MetaSegConfig(), *, generator: torch.Generator | None = None,
                 device: str | torch.device = "cpu") -> None:
        super().__init__()
        self.config = config
        params = {**init_inr(config, generator, device), **init_head(config, generator, device)}
        self.weights = nn.ParameterDict({k.replace(".", "_"): nn.Parameter(v) for k, v in params.items()})

    def params(self) -> Params:
        """The weights by their functional names (``inr.<i>.weight`` ...)."""
        return {_name(k): v for k, v in self.weights.items()}

    def segment(self, images: Tensor, steps: int | None = None) -> Tensor:
        """Class probabilities ``[B, K, H, W]`` of ``images [B, C, H, W]`` after fitting their pixels."""
        fitted = fit_pixels(self.params(), self.config, images, steps)
        return self._probabilities(fitted, *images.shape[-2:])

    def segment_steps(self, images: Tensor, steps: list[int]) -> dict[int, Tensor]:
        """Class probabilities ``[B, K, H, W]`` after each number of fitting steps T in ``steps``, read along one
        fit of ``max(steps)`` steps (T = 0: theta* itself); each equals :meth:`segment` with that T."""
        if not steps or min(steps) < 0:
            raise ValueError(f"MetaSeg.segment_steps: steps must be non-negative numbers, got {steps}")
        wanted, probabilities = set(steps), {}

        def read(t: int, params: Params) -> None:
            if t in wanted:
                probabilities[t] = self._probabilities(params, *images.shape[-2:])

        fit_pixels(self.params(), self.config, images, max(steps), on_step=read)
        return {t: probabilities[t] for t in steps}

    def _probabilities(self, fitted: Params, h: int, w: int) -> Tensor:
        """The head's class probabilities ``[B, K, H, W]`` on the features of fitted per-image INR weights."""
        head = {k: v.detach() for k, v in self.params().items() if k.startswith("head.")}
        inr = {k: v.detach() for k, v in fitted.items() if k.startswith("inr.")}
        with torch.no_grad():
            logits = head_forward(head, features_of(inr, self.config, h, w))
        return logits.softmax(dim=-1).permute(0, 2, 1).reshape(len(logits), -1, h, w)

    def predict(self, target_in: Tensor, context_in: Tensor, context_out: Tensor, objective: Objective) -> Tensor:
        """The probability of the foreground class ``[B, 3, H, W]`` (the context is ignored)."""
        check_inputs(target_in, context_in, context_out, min_context=0)
        foreground = self.segment(target_in.float())[:, 1:2]
        return foreground.expand(-1, IMAGE_CHANNELS, -1, -1).contiguous()


def _name(key: str) -> str:
    """``inr_0_weight`` -> ``inr.0.weight`` (ParameterDict keys cannot hold dots)."""
    part, index, kind = key.split("_")
    return f"{part}.{index}.{kind}"
