"""MVG, the Medical Vision Generalist (Ren et al.): a Painter-style in-context ViT over image/label canvases.

Two canvases of ``[B, 3, 2H, W]`` stack the prompt (top) over the query (bottom): the image canvas holds
the inputs, the label canvas the outputs, with masked patches of the label canvas replaced by a learned
mask token (Sec. 3.3; the paper's Figure 3 draws the four images as one square, the code as two canvases):

    tokens  [B, N, D]      = patch_embed(canvas) + segment[stream] + pos_embed     (one patch embedding)
    blocks 0 .. m-1        run on each stream separately (same weights; Painter's ``merge_idx = m - 1``)
    merge                  the two streams are averaged; blocks m .. depth-1 run once
    decoder                LayerNorm of the tap blocks' outputs, concatenated on channels -> Linear to
                           P * P * C_dec per patch -> unpatchify [B, C_dec, 2H, W] -> conv3x3 ->
                           LayerNorm2d -> GELU -> conv1x1 -> the predicted label canvas [B, 3, 2H, W]

N = (2H / P) * (W / P) patches, D embedding width, P patch size. Paper scale (Sec. 3.4, Architecture; the
reference ``mvg_vit_large_patch16``): ViT-L/16, D 1024, depth 24, 16 heads, merge after 3 blocks, taps at
blocks 5, 11, 17, 23, C_dec 64, 448 x 448 images (:meth:`MVGConfig.paper`).

Blocks follow the reference's (Painter's ViTDet ``Block``): pre-norm attention and MLP, with decomposed relative
position embeddings added to the attention logits (``rel_pos``; the reference's ``use_rel_pos=True``,
zero-initialised). Ours, where the reference differs: global attention in every block (the reference attends
within 14 x 14 windows in 16 of 24 blocks; our canvas grids are smaller than one window) and no stochastic
depth (the reference: 0.1); the absolute position embedding is learned on the canvas grid itself
(the reference interpolates a 14 x 14 pretraining grid). The masks, loss and colours are in
:mod:`neuroicl.models.mvg_masks`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import einops
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuroicl.models.base import IMAGE_CHANNELS, Predictor, check_bool, check_inputs, check_int
from neuroicl.models.blocks import reset_conv_default
from neuroicl.models.losses import FamilyObjective, Objective
from neuroicl.models.mvg_masks import COLOUR_MODES, ar_mask, choose_colours, colourise, decode_colour
from neuroicl.plan.families import MASK_FAMILIES

#: LayerNorm epsilon of every norm (the reference's ``partial(nn.LayerNorm, eps=1e-6)``).
NORM_EPS = 1e-6
#: Standard deviation of the truncated-normal Linear / position and normal token initialisation (reference).
INIT_STD = 0.02
#: Parameters that get no weight decay besides every 1-D one (ours adds the tokens; the reference only
#: exempts ``pos_embed``, its 4-D tokens are decayed).
NO_WEIGHT_DECAY = ("pos_embed", "segment_embed", "mask_token")


def default_taps(depth: int) -> tuple[int, ...]:
    """The last block of each quarter of ``depth``, 0-based: 24 -> (5, 11, 17, 23); fewer when depth < 4."""
    return tuple(sorted({max(0, (k + 1) * depth // 4 - 1) for k in range(4)}))


@dataclass(frozen=True)
class MVGConfig:
    """MVG hyperparameters (defaults: a demo-scale model for 48 x 48 images; :meth:`paper` for the paper's).

    Attributes:
        image_size: H = W of one image; a canvas is 2H x W.
        patch_size: P, stride and kernel of the patch embedding; divides ``image_size``.
        embed_dim: token width D; divisible by ``heads``.
        depth: transformer blocks.
        heads: attention heads per block.
        mlp_ratio: MLP hidden width / D.
        merge_index: m, the blocks run on the two streams separately before they are averaged, in
            [0, depth] (0: averaged after the embedding; depth: after the last block).
        tap_indices: 0-based blocks whose outputs feed the decoder, strictly increasing (None:
            :func:`default_taps`). A tap before the merge reads the average of the two streams.
        decoder_channels: C_dec, the decoder's hidden channels.
        colours: how mask labels are drawn on the label canvas (Sec. 3.2): ``random`` (one random colour per
            sample, the paper's best), ``predefined`` (one fixed colour) or ``binary`` (the mask itself,
            white); at inference a mask prompt is drawn in :func:`inference_colour` and the query decoded.
        rel_pos: add decomposed relative position embeddings to every block's attention logits (the
            reference's ``use_rel_pos``; False: absolute positions only).
    """

    image_size: int = 48
    patch_size: int = 8
    embed_dim: int = 192
    depth: int = 6
    heads: int = 3
    mlp_ratio: float = 4.0
    merge_index: int = 1
    tap_indices: tuple[int, ...] | None = None
    decoder_channels: int = 32
    colours: str = "random"
    rel_pos: bool = True

    def __post_init__(self) -> None:
        check_bool("MVGConfig", "rel_pos", self.rel_pos)
        if self.colours not in COLOUR_MODES:
            raise ValueError(f"MVGConfig.colours must be one of {COLOUR_MODES}, got {self.colours!r}")
        for name, minimum in (
            ("image_size", 1),
            ("patch_size", 1),
            ("embed_dim", 1),
            ("depth", 1),
            ("heads", 1),
            ("merge_index", 0),
            ("decoder_channels", 1),
        ):
            check_int("MVGConfig", name, getattr(self, name), minimum)
        if self.image_size % self.patch_size:
            raise ValueError(
                f"MVGConfig.image_size ({self.image_size}) must be a multiple of patch_size ({self.patch_size})"
            )
        if self.embed_dim % self.heads:
            raise ValueError(f"MVGConfig.embed_dim ({self.embed_dim}) must be divisible by heads ({self.heads})")
        ratio = self.mlp_ratio
        if isinstance(ratio, bool) or not isinstance(ratio, int | float) or int(self.embed_dim * ratio) < 1:
            raise ValueError(f"MVGConfig.mlp_ratio must be a number with embed_dim * mlp_ratio >= 1, got {ratio!r}")
        if self.merge_index > self.depth:
            raise ValueError(f"MVGConfig.merge_index must be in [0, depth={self.depth}], got {self.merge_index}")
        if self.tap_indices is not None:
            taps = self.tap_indices
            if (
                not isinstance(taps, tuple | list)
                or not taps
                or any(isinstance(t, bool) or not isinstance(t, int) for t in taps)
                or list(taps) != sorted(set(taps))
                or taps[0] < 0
                or taps[-1] >= self.depth
            ):
                raise ValueError(
                    f"MVGConfig.tap_indices must be strictly increasing block indices in "
                    f"[0, depth={self.depth}), got {taps!r}"
                )
            object.__setattr__(self, "tap_indices", tuple(taps))

    @classmethod
    def paper(cls) -> MVGConfig:
        """ViT-L/16 on 448 x 448 images (Sec. 3.4 and 4.1; reference ``mvg_vit_large_patch16``)."""
        return cls(
            image_size=448,
            patch_size=16,
            embed_dim=1024,
            depth=24,
            heads=16,
            mlp_ratio=4.0,
            merge_index=3,
            tap_indices=(5, 11, 17, 23),
            decoder_channels=64,
        )

    @property
    def taps(self) -> tuple[int, ...]:
        """The tap blocks, 0-based."""
        return self.tap_indices if self.tap_indices is not None else default_taps(self.depth)

    @property
    def grid(self) -> tuple[int, int]:
        """The canvas patch grid ``(gh, gw) = (2H / P, W / P)``."""
        return 2 * self.image_size // self.patch_size, self.image_size // self.patch_size


def inference_colour(mode: str) -> Tensor:
    """The colour ``[3]`` a mask prompt is drawn in at inference: the first colour of a generator seeded 0 for
    ``random`` (ours: the paper does not say which colour it prompts with), the palette's first for
    ``predefined``, white for ``binary``."""
    generator = torch.Generator().manual_seed(0) if mode == "random" else None
    return choose_colours(mode, 1, generator)[0]


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of ``[B, C, H, W]`` at every pixel (the reference's ``LayerNorm2D``)."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def make_canvas(top: Tensor, bottom: Tensor) -> Tensor:
    """Stack two images ``[..., C, H, W]`` vertically into a canvas ``[..., C, 2H, W]`` (prompt above query)."""
    return torch.cat([top, bottom], dim=-2)


def query_half(canvas: Tensor) -> Tensor:
    """The bottom (query) image ``[..., C, H, W]`` of a canvas ``[..., C, 2H, W]``."""
    return canvas[..., canvas.shape[-2] // 2 :, :]


class Attention(nn.Module):
    """Multi-head self-attention over a ``gh x gw`` token grid, optionally with decomposed relative positions.

    ``logits = q k^T / sqrt(d) + q . R_h[i_h - j_h] + q . R_w[i_w - j_w]`` per head (MViTv2's decomposed
    embedding, as the reference's ViTDet attention: ``R_h`` ``[2 gh - 1, d]``, ``R_w`` ``[2 gw - 1, d]``,
    zero-initialised, read with the unscaled query); the attention itself is PyTorch's
    ``scaled_dot_product_attention`` with the relative terms as its additive mask.
    """

    def __init__(self, dim: int, heads: int, grid: tuple[int, int], rel_pos: bool) -> None:
        super().__init__()
        self.heads, self.grid = heads, grid
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        head_dim = dim // heads
        self.rel_pos_h = nn.Parameter(torch.empty(2 * grid[0] - 1, head_dim)) if rel_pos else None
        self.rel_pos_w = nn.Parameter(torch.empty(2 * grid[1] - 1, head_dim)) if rel_pos else None

    def relative_logits(self, q: Tensor) -> Tensor:
        """The relative-position terms ``[B, heads, N, N]`` for the queries ``q`` ``[B, heads, N, d]``."""
        gh, gw = self.grid
        ih, iw = (torch.arange(g, device=q.device) for g in (gh, gw))
        r_h = self.rel_pos_h[ih[:, None] - ih[None, :] + gh - 1]  # gh gh d
        r_w = self.rel_pos_w[iw[:, None] - iw[None, :] + gw - 1]  # gw gw d
        q = q.unflatten(2, (gh, gw))  # B heads gh gw d
        rel_h = torch.einsum("bnhwd,hkd->bnhwk", q, r_h.to(q.dtype))
        rel_w = torch.einsum("bnhwd,wkd->bnhwk", q, r_w.to(q.dtype))
        return (rel_h[..., :, None] + rel_w[..., None, :]).flatten(4).flatten(2, 3)

    def forward(self, x: Tensor) -> Tensor:
        q, k, v = einops.rearrange(self.qkv(x), "B N (k h d) -> k B h N d", k=3, h=self.heads)
        bias = self.relative_logits(q) if self.rel_pos_h is not None else None
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return self.proj(einops.rearrange(out, "B h N d -> B N (h d)"))


class Block(nn.Module):
    """A pre-norm transformer block: ``x + attn(norm1(x))``, then ``x + mlp(norm2(x))`` (Linear, GELU, Linear)."""

    def __init__(self, config: MVGConfig) -> None:
        super().__init__()
        d = config.embed_dim
        self.norm1 = nn.LayerNorm(d, eps=NORM_EPS)
        self.attn = Attention(d, config.heads, config.grid, config.rel_pos)
        self.norm2 = nn.LayerNorm(d, eps=NORM_EPS)
        hidden = int(d * config.mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(d, hidden), nn.GELU(), nn.Linear(hidden, d))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class MVG(nn.Module, Predictor):
    """The MVG network; ``forward(image_canvas, label_canvas, mask)`` predicts the label canvas ``[B, 3, 2H, W]``.

    Layers are built on the meta device and initialised from ``generator`` (global RNG if None), like the
    other models here.
    """

    def __init__(
        self,
        config: MVGConfig = MVGConfig(),
        *,
        generator: torch.Generator | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        super().__init__()
        self.config = config
        d, p, (gh, gw) = config.embed_dim, config.patch_size, config.grid
        with torch.device("meta"):
            self.patch_embed = nn.Conv2d(IMAGE_CHANNELS, d, p, stride=p)
            self.mask_token = nn.Parameter(torch.empty(d))
            self.segment_embed = nn.Parameter(torch.empty(2, d))  # [image stream, label stream]
            self.pos_embed = nn.Parameter(torch.empty(gh * gw, d))
            self.blocks = nn.ModuleList(Block(config) for _ in range(config.depth))
            self.norm = nn.LayerNorm(d, eps=NORM_EPS)
            c = config.decoder_channels
            self.decoder_embed = nn.Linear(d * len(config.taps), p * p * c)
            self.decoder_pred = nn.Sequential(
                nn.Conv2d(c, c, 3, padding=1), LayerNorm2d(c, eps=NORM_EPS), nn.GELU(), nn.Conv2d(c, IMAGE_CHANNELS, 1)
            )
        if torch.device(device).type != "meta":
            self.to_empty(device=device)
            with torch.no_grad():
                self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """The reference initialisation: truncated normal (std 0.02) Linear weights and position embedding,
        normal (std 0.02) tokens, zero biases and relative positions, unit LayerNorms, PyTorch's default for
        the convolutions."""
        nn.init.trunc_normal_(self.pos_embed, std=INIT_STD, generator=generator)
        nn.init.normal_(self.mask_token, std=INIT_STD, generator=generator)
        nn.init.normal_(self.segment_embed, std=INIT_STD, generator=generator)
        for module in self.modules():
            if isinstance(module, Attention) and module.rel_pos_h is not None:
                nn.init.zeros_(module.rel_pos_h)
                nn.init.zeros_(module.rel_pos_w)
            elif isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=INIT_STD, generator=generator)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Conv2d):
                reset_conv_default(module, generator)

    def _check_canvases(self, image_canvas: Tensor, label_canvas: Tensor, mask: Tensor) -> None:
        s, (gh, gw) = self.config.image_size, self.config.grid
        shape = (image_canvas.shape[0], IMAGE_CHANNELS, 2 * s, s)
        if image_canvas.shape != shape or label_canvas.shape != shape:
            raise ValueError(
                f"image_canvas and label_canvas must be [B, 3, 2H={2 * s}, W={s}], got "
                f"{tuple(image_canvas.shape)} and {tuple(label_canvas.shape)}"
            )
        if mask.shape != (shape[0], gh * gw) or mask.dtype != torch.bool:
            raise ValueError(f"mask must be bool [B, N={gh * gw}], got {mask.dtype} {tuple(mask.shape)}")

    def encode(self, image_canvas: Tensor, label_canvas: Tensor, mask: Tensor) -> list[Tensor]:
        """The normalised tap features, one ``[B, N, D]`` per tap block (taps before the merge: stream mean)."""
        self._check_canvases(image_canvas, label_canvas, mask)
        b, m, taps = image_canvas.shape[0], self.config.merge_index, self.config.taps
        x = self.patch_embed(image_canvas).flatten(2).transpose(1, 2)  # B N D
        y = self.patch_embed(label_canvas).flatten(2).transpose(1, 2)
        y = torch.where(mask.unsqueeze(-1), self.mask_token.to(y.dtype), y)
        h = torch.cat([x + self.segment_embed[0], y + self.segment_embed[1]]) + self.pos_embed  # 2B N D

        def merged(h: Tensor) -> Tensor:
            return (h[:b] + h[b:]) * 0.5

        if m == 0:
            h = merged(h)
        out = []
        for i, block in enumerate(self.blocks):
            h = block(h)
            if i + 1 == m:
                h = merged(h)
            if i in taps:
                out.append(self.norm(h if i + 1 >= m else merged(h)))
        return out

    def decode(self, features: list[Tensor]) -> Tensor:
        """Tap features (each ``[B, N, D]``) -> the label canvas ``[B, 3, 2H, W]``."""
        (gh, gw), p = self.config.grid, self.config.patch_size
        x = self.decoder_embed(torch.cat(features, dim=-1))  # B N (P P C_dec)
        x = einops.rearrange(x, "B (gh gw) (p q C) -> B C (gh p) (gw q)", gh=gh, gw=gw, p=p, q=p)
        return self.decoder_pred(x)

    def forward(self, image_canvas: Tensor, label_canvas: Tensor, mask: Tensor) -> Tensor:
        """Predict the label canvas ``[B, 3, 2H, W]`` from both canvases and the patch mask ``[B, N]`` (True:
        masked; masked label patches are never read)."""
        return self.decode(self.encode(image_canvas, label_canvas, mask))

    def objective(self, family: str) -> FamilyObjective:
        """The family's objective, naming the family (:class:`FamilyObjective`)."""
        return FamilyObjective(**asdict(super().objective(family)), family=family)

    def predict(self, target_in: Tensor, context_in: Tensor, context_out: Tensor, objective: Objective) -> Tensor:
        """The query prediction ``[B, 3, H, W]`` in [0, 1], the mean over the L context pairs.

        Each pair is one prompt, the target the query, its label fully masked (the AR mask, Sec. 3.4,
        Inference); the query half of each prediction is clamped to [0, 1] (images and masks here are in
        [0, 1]) and the L clamped predictions are averaged. The paper uses L = 1; averaging is ours. The
        objective's activation is not applied: the network predicts in output space, as the context-mean
        floor does. For a mask family (a :class:`FamilyObjective` naming it) the prompt masks are drawn in
        :func:`inference_colour` and each query prediction is decoded back to a foreground probability
        (:func:`neuroicl.models.mvg_masks.decode_colour`) before the mean.
        """
        check_inputs(target_in, context_in, context_out, min_context=1)
        b, l = context_in.shape[:2]
        coloured = getattr(objective, "family", "") in MASK_FAMILIES
        colours = inference_colour(self.config.colours).to(target_in).expand(b * l, -1)
        prompts = colourise(context_out.flatten(0, 1), colours).unflatten(0, (b, l)) if coloured else context_out
        query = target_in.unsqueeze(1).expand_as(context_in)
        image = make_canvas(context_in, query).flatten(0, 1)  # (B L) 3 2H W
        label = make_canvas(prompts, torch.zeros_like(prompts)).flatten(0, 1)
        mask = ar_mask(b * l, self.config.grid, device=target_in.device)
        pred = query_half(self(image, label, mask)).clamp(0, 1)
        if coloured:
            pred = decode_colour(pred, colours)
        return pred.unflatten(0, (b, l)).mean(dim=1)


def layer_id(name: str, depth: int) -> int:
    """Depth of parameter ``name`` for layer-wise lr decay: patch and position embeddings 0, block i i + 1, the
    rest (final norm, decoder, mask token, segment embedding: new in Painter, as in the reference) depth + 1."""
    if name.startswith(("patch_embed.", "pos_embed")):
        return 0
    if name.startswith("blocks."):
        return int(name.split(".")[1]) + 1
    return depth + 1


def param_groups(model: MVG, lr: float, weight_decay: float, layer_decay: float) -> list[dict]:
    """AdamW parameter groups with layer-wise lr decay (BEiT; the reference ``param_groups_lrd``; 0.8 in MVG).

    A parameter at :func:`layer_id` k gets ``lr * layer_decay ** (depth + 1 - k)`` (kept as ``lr_scale`` for a
    scheduler) and ``weight_decay``, except 1-D parameters and :data:`NO_WEIGHT_DECAY`, which get none.
    Groups are ordered by depth, decayed before not decayed. Example: ``torch.optim.AdamW(param_groups(model,
    1e-3, 0.05, 0.8))`` (Sec. 4.1).
    """
    for name, value, low in (("lr", lr, 0.0), ("weight_decay", weight_decay, 0.0)):
        if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
            raise ValueError(f"param_groups.{name} must be a number >= {low}, got {value!r}")
    if isinstance(layer_decay, bool) or not isinstance(layer_decay, int | float) or not 0 < layer_decay <= 1:
        raise ValueError(f"param_groups.layer_decay must be a number in (0, 1], got {layer_decay!r}")
    depth = model.config.depth
    groups: dict[tuple[int, bool], dict] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        k, no_decay = layer_id(name, depth), param.ndim <= 1 or name in NO_WEIGHT_DECAY
        scale = layer_decay ** (depth + 1 - k)
        group = groups.setdefault(
            (k, no_decay),
            {
                "params": [],
                "names": [],
                "lr": lr * scale,
                "lr_scale": scale,
                "weight_decay": 0.0 if no_decay else weight_decay,
            },
        )
        group["params"].append(param)
        group["names"].append(name)
    return [groups[key] for key in sorted(groups)]
