"""ISTN's adversarial domain adaptation: losses, optimisers and one training iteration (Robinson et al. 2020, Sec. 2).

Source images S come with labels, target images T without (unsupervised, unpaired DA, Sec. 1): T arrives as
:class:`TargetImages`, which carries images only and raises :class:`TargetLabelError` on any attempt to read
anything else. All images are in ISTN space (:func:`neuroicl.models.istn.to_istn_space`), ``[B, C, H, W]``.

One iteration (:func:`istn_iteration`; the code's ``da_unidirectional_training.py`` loop body):

(a) :func:`generator_step` updates the ISTN(s) with the discriminator(s) frozen (``requires_grad`` off, the
    code's ``set_requires_grad(discriminator, False)``). Uni-directional, Eq. (2):
    ``L = BCE(D_T(S2T), soft 1) + 1/2 lambda |T2T - T|_1`` (code: ``idt_B2B_loss = 0.5 * args.cyc_weight *
    args.idt_loss(B2B, B)``, ``cyc_weight`` 50 in its configs). Bi-directional (CycleGAN), Eq. (3) for both
    directions as the code sums them: ``L = 1/2 [BCE(D_T(S2T), 1) + BCE(D_S(T2S), 1)] + 1/2 lambda
    (|T2S(S) - S|_1 + |S2T(T) - T|_1) + lambda (|S2T2S - S|_1 + |T2S2T - T|_1)`` (``da_bidirectional_training.py``:
    ``istn_loss = gan_loss + (0.5 * args.cyc_weight * idt_loss) + (args.cyc_weight * cyc_loss)``).
(b) :func:`discriminator_step`, Eq. (1): ``1/2 [BCE(D_T(S2T), soft 0) + BCE(D_T(T), soft 1)]`` on the S2T of
    (a), detached (the code reuses its pre-update ``A2B``); bi-directionally also D_S on S (real) vs T2S (fake)
    (ours: the code's second update scores A2B with the wrong discriminator).
(c) :func:`task_step` trains the task model on the detached S2T with the SOURCE labels (the code's
    ``task_loss(output_task_A2B_batch, label_A)``). Label maps (segmentation) are warped by S2T's displacement so
    that they stay aligned with the transformed image (ours: the paper's tasks have image-level labels).

Every random draw (dropout masks, soft labels) comes from the iteration's ``generator``; the global RNG is unused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuroicl.models.istn import ISTN, warp_with_field
from neuroicl.models.istn_critics import Discriminator, sample_soft_labels, soft_label_bce
from neuroicl.models.losses import soft_dice_loss
from neuroicl.training.optimizers import adam_kernel

#: lambda, the weight of the identity (and cycle) terms (code configs ``cyc_weight: 50``).
IDENTITY_WEIGHT = 50.0
#: Adam for the ISTN and discriminator (code: ``lr=args.learning_rate`` 1e-4, ``betas=(0.5, 0.999)``); the task
#: model's Adam keeps PyTorch's default betas (code: ``torch.optim.Adam(..., lr=0.0001)``).
LR = 1e-4
BETAS = (0.5, 0.999)
TASK_BETAS = (0.9, 0.999)


class TargetLabelError(RuntimeError):
    """Something tried to read a label of the target domain, whose images arrive unlabelled."""


@dataclass(frozen=True)
class SourceBatch:
    """Labelled source-site images: ``images [B, C, H, W]``; ``labels`` class ids ``[B]``, values ``[B]`` or
    ``[B, 1]``, or maps ``[B, C', H, W]``."""

    images: Tensor
    labels: Tensor


@dataclass(frozen=True)
class TargetImages:
    """Unlabelled target-site images ``[B, C, H, W]``: the only field. Reading any other attribute (``labels``,
    ``target_out``, ...) raises :class:`TargetLabelError`, also through ``getattr(x, name, default)``."""

    images: Tensor

    def __post_init__(self) -> None:
        if not isinstance(self.images, Tensor) or self.images.ndim != 4:
            raise ValueError(f"TargetImages.images must be a [B, C, H, W] tensor, got "
                             f"{getattr(self.images, 'shape', type(self.images).__name__)}")

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        raise TargetLabelError(f"TargetImages has no {name!r}: target-domain images arrive without labels "
                               "(unsupervised domain adaptation); only .images exists")


@dataclass(frozen=True)
class TaskObjective:
    """A task model's loss ``loss(prediction, labels) -> scalar``; ``spatial``: the labels are maps that move
    with the image (warped by the ISTN's displacement before the loss)."""

    loss: Callable[[Tensor, Tensor], Tensor]
    spatial: bool = False


def classification_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """Cross-entropy of ``logits [B, K]`` against class ids ``[B]``."""
    return F.cross_entropy(logits, labels.long())


def regression_loss(prediction: Tensor, values: Tensor) -> Tensor:
    """MSE of ``prediction [B, 1]`` (or ``[B]``) against ``values [B]`` (the paper's age regression loss)."""
    return F.mse_loss(prediction.reshape(-1), values.reshape(-1).to(prediction.dtype))


def regression_l1_loss(prediction: Tensor, values: Tensor) -> Tensor:
    """Mean absolute error of ``prediction [B, 1]`` (or ``[B]``) against ``values [B]``."""
    return F.l1_loss(prediction.reshape(-1), values.reshape(-1).to(prediction.dtype))


def segmentation_loss(raw: Tensor, masks: Tensor) -> Tensor:
    """Soft Dice of ``sigmoid(raw)`` per sample and class, averaged, plus BCE-with-logits; ``raw`` and (soft)
    ``masks`` ``[B, C, H, W]`` (C classes). Each class weighs alike (ours): with the classes pooled into one Dice the
    cortex dominated and a 300-step U-Net never predicted the thalamus at demo scale."""
    masks = masks.to(raw.dtype)
    b, c = raw.shape[:2]
    shape = (b * c, 1, *raw.shape[2:])
    per_class = soft_dice_loss(torch.sigmoid(raw).reshape(shape), masks.reshape(shape))
    return per_class.mean() + F.binary_cross_entropy_with_logits(raw, masks)


TASK_OBJECTIVES = {
    "classification": TaskObjective(classification_loss),
    "regression": TaskObjective(regression_loss),
    "regression_l1": TaskObjective(regression_l1_loss),
    "segmentation": TaskObjective(segmentation_loss, spatial=True),
}


class ImageOnly(nn.Module):
    """A predictor of the in-context interface (e.g. :class:`neuroicl.models.unet.UNet`) as an image model:
    ``forward(images [B, C, H, W]) = model(images, empty, empty)`` with an empty context (L = 0)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: Tensor) -> Tensor:
        empty = images.new_zeros(images.shape[0], 0, *images.shape[1:])
        return self.model(images, empty, empty)


@dataclass
class ISTNNetworks:
    """The networks of one ISTN run: ``istn`` S -> T, ``discriminator`` D_T, ``task``; bi-directional runs add
    ``reverse`` T -> S and ``source_discriminator`` D_S (both or neither)."""

    istn: ISTN
    discriminator: Discriminator
    task: nn.Module
    reverse: ISTN | None = None
    source_discriminator: Discriminator | None = None

    def __post_init__(self) -> None:
        if (self.reverse is None) != (self.source_discriminator is None):
            raise ValueError("ISTNNetworks: a bi-directional run needs both reverse and source_discriminator")

    @property
    def bidirectional(self) -> bool:
        return self.reverse is not None

    def generators(self) -> list[ISTN]:
        """The ISTN(s), the GAN's generators."""
        return [self.istn] + ([self.reverse] if self.reverse is not None else [])

    def discriminators(self) -> list[Discriminator]:
        return [self.discriminator] + ([self.source_discriminator] if self.source_discriminator is not None else [])


@dataclass
class ISTNOptimizers:
    """One Adam each for the ISTN(s), the discriminator(s) and the task model."""

    istn: torch.optim.Optimizer
    discriminator: torch.optim.Optimizer
    task: torch.optim.Optimizer


def build_optimizers(networks: ISTNNetworks, lr: float = LR, betas: tuple[float, float] = BETAS,
                     task_lr: float = LR, task_betas: tuple[float, float] = TASK_BETAS) -> ISTNOptimizers:
    """Adam for each group (module constants). One optimiser over both discriminators equals the code's two:
    Adam is elementwise and each discriminator's loss reaches only its own parameters."""
    def params(modules: list) -> list[nn.Parameter]:
        return [p for module in modules for p in module.parameters()]

    kernel = adam_kernel(next(networks.task.parameters()).device)
    return ISTNOptimizers(torch.optim.Adam(params(networks.generators()), lr=lr, betas=betas, **kernel),
                          torch.optim.Adam(params(networks.discriminators()), lr=lr, betas=betas, **kernel),
                          torch.optim.Adam(networks.task.parameters(), lr=task_lr, betas=task_betas, **kernel))


def l1(a: Tensor, b: Tensor) -> Tensor:
    """Mean absolute difference (the code's ``nn.L1Loss()``)."""
    return (a - b).abs().mean()


def unidirectional_generator_loss(fake_logits: Tensor, real_labels: Tensor, t2t: Tensor, t: Tensor,
                                  weight: float = IDENTITY_WEIGHT) -> dict[str, Tensor]:
    """Eq. (2): ``adversarial = BCE(D_T(S2T), soft 1)``, ``identity = |T2T - T|_1``,
    ``istn = adversarial + 1/2 weight identity``."""
    adversarial, identity = soft_label_bce(fake_logits, real_labels), l1(t2t, t)
    return {"istn": adversarial + 0.5 * weight * identity, "adversarial": adversarial, "identity": identity}


def bidirectional_generator_loss(adversarial: tuple[Tensor, Tensor], identity: tuple[Tensor, Tensor],
                                 cycle: tuple[Tensor, Tensor], weight: float = IDENTITY_WEIGHT) -> dict[str, Tensor]:
    """The CycleGAN form (module docstring): the two directions' adversarial BCEs averaged, their identity L1s
    weighted 1/2 weight and their cycle L1s weight (each pair: S -> T, then T -> S)."""
    adv, idt, cyc = sum(adversarial) / 2, sum(identity), sum(cycle)
    total = adv + 0.5 * weight * idt + weight * cyc
    return {"istn": total, "adversarial": adv, "identity": idt, "cycle": cyc}


@contextmanager
def frozen(modules: list[nn.Module]) -> Iterator[None]:
    """``requires_grad`` off on every parameter of ``modules`` inside the block, restored after."""
    params = [p for module in modules for p in module.parameters()]
    flags = [p.requires_grad for p in params]
    try:
        for p in params:
            p.requires_grad_(False)
        yield
    finally:
        for p, flag in zip(params, flags, strict=True):
            p.requires_grad_(flag)


@dataclass(frozen=True)
class Transformed:
    """The detached outputs of step (a) reused by (b) and (c): ``s2t`` and its ``displacement [B, 2, H, W]``;
    ``t2s`` bi-directionally (else None)."""

    s2t: Tensor
    displacement: Tensor
    t2s: Tensor | None = None


def _step(optimizer: torch.optim.Optimizer, loss: Tensor) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def generator_step(networks: ISTNNetworks, optimizer: torch.optim.Optimizer, source: Tensor, target: TargetImages,
                   generator: torch.Generator, weight: float = IDENTITY_WEIGHT,
                   ) -> tuple[dict[str, Tensor], Transformed]:
    """Step (a): one update of the ISTN(s) on ``source [B, C, H, W]`` images and ``target`` images, the
    discriminator(s) frozen. Returns the losses and the detached transformed images."""
    t = target.images
    s2t, field = networks.istn(source, generator)
    t2t, _ = networks.istn(t, generator)
    with frozen(networks.discriminators()):
        fake_t = networks.discriminator(s2t, generator)
        real = sample_soft_labels(len(s2t), True, generator)
        if networks.reverse is None or networks.source_discriminator is None:
            losses = unidirectional_generator_loss(fake_t, real, t2t, t, weight)
            t2s = None
        else:
            t2s, _ = networks.reverse(t, generator)
            s2s, _ = networks.reverse(source, generator)
            s2t2s, _ = networks.reverse(s2t, generator)
            t2s2t, _ = networks.istn(t2s, generator)
            fake_s = networks.source_discriminator(t2s, generator)
            real_s = sample_soft_labels(len(t2s), True, generator)
            losses = bidirectional_generator_loss(
                (soft_label_bce(fake_t, real), soft_label_bce(fake_s, real_s)),
                (l1(s2s, source), l1(t2t, t)), (l1(s2t2s, source), l1(t2s2t, t)), weight)
        _step(optimizer, losses["istn"])
    return losses, Transformed(s2t.detach(), field.detach(), None if t2s is None else t2s.detach())


def discriminator_loss(discriminator: Discriminator, real: Tensor, fake: Tensor,
                       generator: torch.Generator) -> Tensor:
    """Eq. (1): ``1/2 [BCE(D(fake), soft 0) + BCE(D(real), soft 1)]``."""
    fake_labels = sample_soft_labels(len(fake), False, generator)
    real_labels = sample_soft_labels(len(real), True, generator)
    return 0.5 * (soft_label_bce(discriminator(fake, generator), fake_labels)
                  + soft_label_bce(discriminator(real, generator), real_labels))


def discriminator_step(networks: ISTNNetworks, optimizer: torch.optim.Optimizer, source: Tensor,
                       target: TargetImages, transformed: Transformed, generator: torch.Generator,
                       ) -> dict[str, Tensor]:
    """Step (b): one update of D_T on ``target`` (real) vs the detached S2T (fake); bi-directionally also of
    D_S on ``source`` images (real) vs the detached T2S (fake)."""
    losses = {"discriminator": discriminator_loss(networks.discriminator, target.images, transformed.s2t, generator)}
    if networks.source_discriminator is not None and transformed.t2s is not None:
        losses["source_discriminator"] = discriminator_loss(networks.source_discriminator, source,
                                                            transformed.t2s, generator)
    _step(optimizer, sum(losses.values()))
    return losses


def task_step(task: nn.Module, optimizer: torch.optim.Optimizer, labels: Tensor, transformed: Transformed,
              objective: TaskObjective) -> dict[str, Tensor]:
    """Step (c): one update of ``task`` on the detached S2T with the source ``labels`` (maps warped by S2T's
    displacement when ``objective.spatial``)."""
    if objective.spatial:
        labels = warp_with_field(labels.to(transformed.s2t.dtype), transformed.displacement)
    loss = objective.loss(task(transformed.s2t), labels)
    _step(optimizer, loss)
    return {"task": loss}


def istn_iteration(networks: ISTNNetworks, optimizers: ISTNOptimizers, source: SourceBatch, target: TargetImages,
                   objective: TaskObjective, generator: torch.Generator,
                   weight: float = IDENTITY_WEIGHT) -> dict[str, float]:
    """One ISTN iteration, steps (a), (b), (c) (module docstring), every network in training mode.

    Args:
        networks: the ISTN(s), discriminator(s) and task model.
        optimizers: from :func:`build_optimizers`.
        source: labelled source images ``[B, C, H, W]``.
        target: unlabelled target images ``[B', C, H, W]`` (a :class:`TargetImages`, nothing else).
        objective: the task model's loss (:data:`TASK_OBJECTIVES`).
        generator: draws the dropout masks and soft labels.
        weight: lambda of the identity (and cycle) terms.

    Returns: the scalar losses ``istn``, ``adversarial``, ``identity`` (``cycle``), ``discriminator``
    (``source_discriminator``) and ``task``.
    """
    if not isinstance(target, TargetImages):
        raise TypeError(f"istn_iteration: target must be TargetImages (images only, no labels), got "
                        f"{type(target).__name__}")
    if not isinstance(source, SourceBatch):
        raise TypeError(f"istn_iteration: source must be a SourceBatch, got {type(source).__name__}")
    for module in (*networks.generators(), *networks.discriminators(), networks.task):
        module.train()
    losses, transformed = generator_step(networks, optimizers.istn, source.images, target, generator, weight)
    losses |= discriminator_step(networks, optimizers.discriminator, source.images, target, transformed, generator)
    losses |= task_step(networks.task, optimizers.task, source.labels, transformed, objective)
    return {name: float(value.detach()) for name, value in losses.items()}
