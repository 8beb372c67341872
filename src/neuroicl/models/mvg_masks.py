"""MVG's training pieces that are not layers: patch masks, the masked loss, label colours, prompt selection.

MVG (Ren et al., "Medical Vision Generalist", Sec. 3.3-3.4) predicts the label canvas ``[B, 3, 2H, W]``
(prompt label on top, query label below) from the image canvas and the partly masked label canvas.
Shapes: B batch, C channels, H W one image's size; the canvas is cut into a patch grid ``(gh, gw) =
(2H / P, W / P)`` of N = gh * gw patches (row-major), and a patch mask ``[B, N]`` is True where masked.

* **Masks** (sampler + applier; explicit ``torch.Generator``): :func:`ar_mask` masks the whole query half
  ("auto-regressive" next-image prediction, Sec. 3.3); :func:`sample_blocks` / :func:`paint_blocks` draw and
  paint BEiT-style rectangular blocks ("mask image modeling"); :func:`sample_task_mask` picks one of the two
  per sample as the reference training data does (segmentation: always AR, Sec. 4.1; block masks instead for the
  Table 5c ablation).
* **Loss**: :func:`masked_smooth_l1`, smooth-L1 (beta 0.01) over the masked pixels only, background
  pixels of a segmentation label down-weighted (0.1 in the reference code).
* **Colours** (Sec. 3.2, in-context colouring): :func:`choose_colours` draws or fixes one RGB colour per
  sample, :func:`colourise` paints a binary mask with it, :func:`decode_colour` reads the mask back.
* **Prompt selection** (Sec. 3.4, Inference): :func:`prompt_index`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from neuroicl.models.base import IMAGE_CHANNELS, check_int

#: One rectangle of the patch grid: (top, left, height, width) in patches.
Block = tuple[int, int, int, int]

#: Fraction of the canvas patches a block mask hides: the reference trains with 784 of 56 x 28 = 1568 patches.
BLOCK_MASK_RATIO = 0.5
#: Probability of the AR (half) mask for a non-segmentation sample: the reference's ``--half_mask_ratio``
#: (the paper: 10 % auto-regressive, 90 % masked image modeling, Sec. 4.1).
HALF_MASK_RATIO = 0.1
#: Smallest block area, in patches (BEiT's / the reference generator's default; MVG passes 16 on 56 x 28).
MIN_BLOCK_PATCHES = 4
#: Aspect ratios (h / w) of a block are drawn log-uniformly in [MIN_ASPECT, 1 / MIN_ASPECT].
MIN_ASPECT = 0.3
#: Tries to place one block before the block phase ends (the reference's 10).
BLOCK_ATTEMPTS = 10
#: Smooth-L1 transition point (the reference's ``beta=0.01``).
SMOOTH_L1_BETA = 0.01
#: Weight of background label pixels in the segmentation loss (the reference's ``valid = 0.1``).
BACKGROUND_WEIGHT = 0.1
#: A label pixel is background when every channel is at most this (the reference's 1e-3 * 0.1).
BACKGROUND_THRESHOLD = 1e-4
#: The brightest channel of a random colour lies in [MIN_BRIGHTNESS, 1], far from the black background.
MIN_BRIGHTNESS = 0.5
#: Pre-defined colours, one per task index (``choose_colours(..., index=...)``); index 0 is red.
PALETTE = (
    (1.0, 0.0, 0.0),
    (0.0, 1.0, 0.0),
    (0.0, 0.0, 1.0),
    (1.0, 1.0, 0.0),
    (1.0, 0.0, 1.0),
    (0.0, 1.0, 1.0),
    (1.0, 0.5, 0.0),
    (0.5, 0.0, 1.0),
)
COLOUR_MODES = ("random", "predefined", "binary")


def _check_grid(grid: tuple[int, int]) -> tuple[int, int]:
    if not (isinstance(grid, tuple | list) and len(grid) == 2):
        raise ValueError(f"grid must be a pair (gh, gw) of patch counts, got {grid!r}")
    check_int("grid", "gh", grid[0], 2)
    check_int("grid", "gw", grid[1], 1)
    if grid[0] % 2:
        raise ValueError(f"grid gh must be even (two images stacked), got {grid!r}")
    return int(grid[0]), int(grid[1])


def _check_fraction(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


# ---- masks ----------------------------------------------------------------------------------------------


def ar_mask(b: int, grid: tuple[int, int], device: torch.device | str | None = None) -> Tensor:
    """The AR mask ``[B, N]``: every patch of the query (bottom) half of the label canvas (Sec. 3.3)."""
    check_int("ar_mask", "b", b, 0)
    gh, gw = _check_grid(grid)
    rows = torch.arange(gh, device=device) >= gh // 2
    return rows[:, None].expand(gh, gw).flatten().expand(b, -1).clone()


def sample_blocks(
    grid: tuple[int, int],
    n_masked: int,
    generator: torch.Generator,
    min_patches: int = MIN_BLOCK_PATCHES,
    min_aspect: float = MIN_ASPECT,
) -> list[Block]:
    """Draw rectangles whose union covers exactly ``n_masked`` patches of ``grid`` (sampler).

    As the reference (BEiT) generator: each block has an area drawn uniformly in [``min_patches``, patches
    still to mask] and a log-uniform aspect ratio in [``min_aspect``, 1 / ``min_aspect``], must be smaller
    than the grid in both directions, may overlap earlier blocks but adds at least one and at most the
    remaining patches; after ``BLOCK_ATTEMPTS`` failed tries the block phase ends and the remainder is
    filled with 1 x 1 blocks on random free patches, so the count is exact. All draws use ``generator``.
    """
    gh, gw = _check_grid(grid)
    check_int("sample_blocks", "n_masked", n_masked, 0)
    if n_masked > gh * gw:
        raise ValueError(f"n_masked must be at most the {gh * gw} grid patches, got {n_masked}")
    if not 0 < min_aspect <= 1:
        raise ValueError(f"min_aspect must be in (0, 1], got {min_aspect!r}")
    taken = torch.zeros(gh, gw, dtype=torch.bool)
    blocks: list[Block] = []
    log_aspect = math.log(min_aspect)
    while (count := int(taken.sum())) < n_masked:
        remaining = n_masked - count
        for _ in range(BLOCK_ATTEMPTS):
            u = torch.rand(4, generator=generator).tolist()
            area = min_patches + (remaining - min_patches) * u[0]
            aspect = math.exp(log_aspect + (-2 * log_aspect) * u[1])
            h, w = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
            if not (h < gh and w < gw):
                continue
            top, left = int(u[2] * (gh - h + 1)), int(u[3] * (gw - w + 1))
            new = h * w - int(taken[top : top + h, left : left + w].sum())
            if 0 < new <= remaining:
                blocks.append((top, left, h, w))
                taken[top : top + h, left : left + w] = True
                break
        else:
            break
    free = (~taken).flatten().nonzero().flatten()
    fill = free[torch.randperm(len(free), generator=generator)[: n_masked - int(taken.sum())]]
    blocks += [(int(i) // gw, int(i) % gw, 1, 1) for i in fill.sort().values]
    return blocks


def paint_blocks(grid: tuple[int, int], blocks: list[Block], device: torch.device | str | None = None) -> Tensor:
    """The patch mask ``[N]`` (bool, row-major over ``grid``) that is True on the union of ``blocks`` (applier)."""
    gh, gw = _check_grid(grid)
    mask = torch.zeros(gh, gw, dtype=torch.bool, device=device)
    for top, left, h, w in blocks:
        mask[top : top + h, left : left + w] = True
    return mask.flatten()


def sample_block_mask(
    b: int,
    grid: tuple[int, int],
    ratio: float,
    generator: torch.Generator,
    min_patches: int = MIN_BLOCK_PATCHES,
    min_aspect: float = MIN_ASPECT,
) -> Tensor:
    """Block-wise random masks ``[B, N]``, each hiding exactly ``round(ratio * N)`` canvas patches.

    The blocks cover the whole label canvas (prompt and query halves), as in the reference; see
    :func:`sample_blocks` for the drawing rule.
    """
    check_int("sample_block_mask", "b", b, 0)
    gh, gw = _check_grid(grid)
    n_masked = round(_check_fraction("ratio", ratio) * gh * gw)
    masks = [paint_blocks(grid, sample_blocks(grid, n_masked, generator, min_patches, min_aspect)) for _ in range(b)]
    return torch.stack(masks) if masks else torch.zeros(0, gh * gw, dtype=torch.bool)


def sample_task_mask(
    b: int,
    grid: tuple[int, int],
    half_mask_ratio: float,
    ratio: float,
    generator: torch.Generator,
    always_ar: bool | Tensor = False,
    forced_ratio: float | None = None,
) -> Tensor:
    """Per sample, the AR mask with probability ``half_mask_ratio``, else a block mask of ``ratio``: ``[B, N]``.

    ``always_ar`` (a bool, or ``[B]`` bool for a batch mixing task families) forces the AR mask, as the
    reference does for every segmentation sample (Sec. 4.1: segmentation is trained 100 % auto-regressively).
    ``forced_ratio`` (a number in (0, 1); None: AR) gives those forced samples a block mask of that ratio of the
    canvas instead: the MIM rows of the paper's Table 5c ("MIM (mask 50 %)", "(mask 75 %)").
    One uniform draw per sample comes first, then the block masks of the non-AR samples in batch order, then
    (``forced_ratio`` only) those of the forced samples; with ``forced_ratio=None`` nothing more is drawn.
    """
    half = _check_fraction("half_mask_ratio", half_mask_ratio)
    use_ar = torch.rand(b, generator=generator) < half
    forced = torch.as_tensor(always_ar, dtype=torch.bool).expand(b)
    use_ar |= forced
    masks = ar_mask(b, grid)
    n_block = int((~use_ar).sum())
    masks[~use_ar] = sample_block_mask(n_block, grid, ratio, generator)
    if forced_ratio is not None:
        if not 0 < _check_fraction("forced_ratio", forced_ratio) < 1:
            raise ValueError(f"forced_ratio must be None (AR) or in (0, 1), got {forced_ratio!r}")
        masks[forced] = sample_block_mask(int(forced.sum()), grid, forced_ratio, generator)
    return masks


def patch_to_pixel(patch_mask: Tensor, grid: tuple[int, int], patch: int) -> Tensor:
    """Expand a patch mask ``[B, N]`` to the pixels of the canvas, ``[B, 1, gh * P, gw * P]``."""
    gh, gw = _check_grid(grid)
    grid_mask = patch_mask.reshape(patch_mask.shape[0], 1, gh, gw)
    return grid_mask.repeat_interleave(patch, dim=2).repeat_interleave(patch, dim=3)


# ---- loss -----------------------------------------------------------------------------------------------


def masked_smooth_l1(
    pred_canvas: Tensor,
    label_canvas: Tensor,
    patch_mask: Tensor,
    patch: int,
    beta: float = SMOOTH_L1_BETA,
    background_weight: float | Tensor | None = None,
) -> Tensor:
    """Weighted mean smooth-L1 over the masked pixels of each sample, ``[B]`` (Sec. 3.4, Loss Function).

    ``pred_canvas`` and ``label_canvas`` are ``[B, C, 2H, W]``, ``patch_mask [B, N]`` (True: masked). A pixel
    of a masked patch weighs 1, or ``background_weight`` (a number, or ``[B]`` per sample: 0.1 for
    segmentation, 1 for the others) where every channel of the label is background (<= 1e-4). Unmasked
    pixels weigh 0. A sample without masked pixels has loss 0.

    Differences from the reference ``forward_loss``: it averages over the whole batch (one scalar), works in
    ImageNet-normalised units (so its beta 0.01 is about 0.0023 in our [0, 1] units; we keep 0.01), tests
    background per channel rather than per pixel, and drops samples whose visible label is nearly empty
    (sum below 300 in [0, 1] units); the last is left to the training step.
    """
    if pred_canvas.shape != label_canvas.shape or pred_canvas.ndim != 4:
        raise ValueError(
            f"pred_canvas and label_canvas must both be [B, C, 2H, W], got {tuple(pred_canvas.shape)} "
            f"and {tuple(label_canvas.shape)}"
        )
    check_int("masked_smooth_l1", "patch", patch, 1)
    b, c, hh, w = pred_canvas.shape
    grid = (hh // patch, w // patch)
    if hh % patch or w % patch or patch_mask.shape != (b, grid[0] * grid[1]):
        raise ValueError(
            f"patch_mask must be [B={b}, N={grid[0] * grid[1]}] for patch {patch}, got {tuple(patch_mask.shape)}"
        )
    weight = patch_to_pixel(patch_mask, grid, patch).to(pred_canvas.dtype)  # B 1 2H W
    if background_weight is not None:
        bg_w = torch.as_tensor(background_weight, dtype=weight.dtype, device=weight.device).reshape(-1, 1, 1, 1)
        background = (label_canvas <= BACKGROUND_THRESHOLD).all(dim=1, keepdim=True)
        weight = weight * torch.where(background, bg_w, torch.ones_like(bg_w))
    loss = F.smooth_l1_loss(pred_canvas, label_canvas, reduction="none", beta=beta)  # B C 2H W
    total = (loss * weight).flatten(1).sum(dim=1)
    return total / (weight.flatten(1).sum(dim=1) * c).clamp_min(1e-12)


# ---- colours --------------------------------------------------------------------------------------------


def sample_colours(b: int, generator: torch.Generator) -> Tensor:
    """Random RGB colours ``[B, 3]``, one per sample (Sec. 3.2, random colorization; sampler).

    Rule (ours; the reference draws ``R, G, B`` in {1..10} but never uses them): a direction u ~ U(0, 1)^3
    scaled so that its brightest channel is v ~ U(MIN_BRIGHTNESS, 1); every colour is therefore at least 0.5
    from black (the background) and nearest-colour decoding has a wide margin.
    """
    check_int("sample_colours", "b", b, 0)
    u = torch.rand(b, 4, generator=generator)
    direction = u[:, :3] / u[:, :3].amax(dim=1, keepdim=True).clamp_min(1e-6)
    return direction * (MIN_BRIGHTNESS + (1 - MIN_BRIGHTNESS) * u[:, 3:])


def choose_colours(mode: str, b: int, generator: torch.Generator | None = None, index: Tensor | None = None) -> Tensor:
    """One colour per sample ``[B, 3]`` for colouring ``mode`` (Sec. 3.2).

    ``"random"``: :func:`sample_colours` (needs ``generator``); ``"predefined"``: ``PALETTE[index]`` per sample
    (``index [B]``, a task id; default 0, red); ``"binary"``: white, i.e. the mask itself replicated on 3
    channels. No mode reads a mask, so a query's label can never influence its colour.
    """
    if mode not in COLOUR_MODES:
        raise ValueError(f"colour mode must be one of {COLOUR_MODES}, got {mode!r}")
    if mode == "random":
        if generator is None:
            raise ValueError("colour mode 'random' needs a generator (no global random numbers)")
        return sample_colours(b, generator)
    if mode == "binary":
        return torch.ones(b, IMAGE_CHANNELS)
    index = torch.zeros(b, dtype=torch.long) if index is None else torch.as_tensor(index, dtype=torch.long)
    if index.shape != (b,) or (index < 0).any() or (index >= len(PALETTE)).any():
        raise ValueError(f"index must be [B={b}] task ids in [0, {len(PALETTE)}), got {index.tolist()}")
    return torch.tensor(PALETTE)[index]


def colourise(mask: Tensor, colours: Tensor) -> Tensor:
    """Paint masks with one colour per sample (applier): ``[B, ..., 1 or 3, H, W] x [B, 3] -> [B, ..., 3, H, W]``.

    The first channel is the mask (ours are binary, replicated on 3 channels); soft values scale the colour.
    Colour a sample's prompt and query labels with the same ``colours`` so that they share it.
    """
    if mask.ndim < 4 or mask.shape[-3] not in (1, IMAGE_CHANNELS) or colours.shape != (mask.shape[0], 3):
        raise ValueError(
            f"colourise needs mask [B, ..., 1|3, H, W] and colours [B, 3], got "
            f"{tuple(mask.shape)} and {tuple(colours.shape)}"
        )
    shape = (mask.shape[0],) + (1,) * (mask.ndim - 4) + (IMAGE_CHANNELS, 1, 1)
    return mask[..., :1, :, :] * colours.to(mask).reshape(shape)


def colour_pair(
    prompt_mask: Tensor, query_mask: Tensor, mode: str, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """Colour a prompt mask and a query mask ``[B, ..., 1|3, H, W]`` alike: ``(prompt, query, colours [B, 3])``.

    The colours are chosen (:func:`choose_colours`) before either mask is read.
    """
    colours = choose_colours(mode, prompt_mask.shape[0], generator)
    return colourise(prompt_mask, colours), colourise(query_mask, colours), colours


def decode_colour(pred: Tensor, colours: Tensor) -> Tensor:
    """Foreground probability ``[B, 3, H, W]`` (replicated) of a coloured prediction ``[B, 3, H, W]``.

    The projection ``t = <pred, c> / <c, c>`` clamped to [0, 1]: exactly the mask for ``colourise(mask, c)``,
    and ``t > 0.5`` exactly where ``pred`` is nearer the sample's colour c than black (the background).
    """
    if pred.ndim != 4 or pred.shape[1] != IMAGE_CHANNELS or colours.shape != (pred.shape[0], 3):
        raise ValueError(
            f"decode_colour needs pred [B, 3, H, W] and colours [B, 3], got "
            f"{tuple(pred.shape)} and {tuple(colours.shape)}"
        )
    c = colours.to(pred)[:, :, None, None]
    t = (pred * c).sum(dim=1, keepdim=True) / c.square().sum(dim=1, keepdim=True)
    return t.clamp(0, 1).expand(-1, IMAGE_CHANNELS, -1, -1)


# ---- prompt selection -----------------------------------------------------------------------------------


def prompt_index(n: int, n_test: int, n_train: int) -> int:
    """The prompt slice ``floor(n * N_TR / N_TE)`` for slice ``n`` of a test volume (Sec. 3.4, Inference).

    Slices count from 0 (the paper does not say), so slice ``n`` in [0, N_TE) maps to [0, N_TR): the
    training slice at the same relative position.
    """
    check_int("prompt_index", "n_test", n_test, 1)
    check_int("prompt_index", "n_train", n_train, 1)
    check_int("prompt_index", "n", n, 0)
    if n >= n_test:
        raise ValueError(f"prompt_index.n must be < n_test={n_test} (slices count from 0), got {n}")
    return n * n_train // n_test
