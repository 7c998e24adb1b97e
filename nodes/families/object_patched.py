"""DiTs whose attention ComfyUI calls without ``transformer_options``: PLADIS reaches them through object
patches on the clone (``nodes.object_patch``), one description each.

PixArt α/Σ (PixArtMS). True cross-attention over the T5 tokens (``blocks[i].cross_attn``). Text keys: every
key (the encoder's tokens; ComfyUI passes PixArt no mask, and ``MultiHeadCrossAttention`` refuses one). Every
query row changes, as in UNet cross-attention.

HunyuanDiT (HunYuanDiT). True cross-attention (``blocks[i].attn2``) over [CLIP 77 ‖ mT5 256]. Text keys: the
encoder tokens of both text encoders where their masks are set; the positions the masks clear hold the model's
learned padding embeddings (``text_embedding_padding``), filler that keeps its dense weights. Every query row
changes. The query's RoPE is applied as the module applies it.

ERNIE-Image (ErnieImageModel). One single-stream self-attention per layer (``layers[i].self_attention``) over
[image ‖ text], image first. Text keys: the text encoder's tokens (the context). Only the image-query rows
change, over the text keys, keeping each row's text mass; text-query rows and image-key columns keep their
dense weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from ...pladis_core.cross_attention import pladis_attention_heads
from ...pladis_core.joint_attention import pladis_joint_attention
from ...pladis_core.key_subset import pladis_attention_on_keys
from ..layer_selection import Site
from .attention_kind import AttentionKind
from .base import CROSS, JOINT, ModelCall
from .record import Described


@dataclass(frozen=True, kw_only=True)
class ObjectPatchedFamily(Described):
    """How one family's text attention is object-patched.

    From the catalog: ``classes``, the diffusion-model class names; ``blocks``, the diffusion model's attribute
    holding the blocks; ``module``, the attribute of a block holding the attention module that is patched.
    ``layout``: what a model call tells that attention (its text keys);
    ``forward(patch, layout, *args, **kwargs)``: the module's forward with PLADIS, q, k, v computed by the
    module's own layers and handed to ``patch.attention`` (None for inputs it does not handle);
    ``attend(q, k, v, layout, alpha, scale)``: PLADIS on (B, H, N, d) heads.
    """

    FROM_CATALOG = ("classes", "blocks", "module")
    classes: tuple[str, ...] = field(init=False)
    blocks: str = field(init=False)
    module: str = field(init=False)
    attention: AttentionKind
    layout: Callable[[ModelCall], Any]
    forward: Callable[..., Any]
    attend: Callable[..., torch.Tensor]
    part: str = "block"
    left_out_of_default: tuple[str, ...] = ()

    @property
    def default_selection(self) -> tuple[str, ...]:
        return (self.part,)

    def sites(self, diffusion_model: Any) -> list[Site]:
        return [Site(self.part, index, None) for index in range(len(getattr(diffusion_model, self.blocks)))]


def _heads(t: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, N, H·d) or (B, N, H, d) → (B, H, N, d)."""
    return t.reshape(t.shape[0], t.shape[1], heads, -1).transpose(1, 2)


def _tokens(t: torch.Tensor) -> torch.Tensor:
    """(B, H, N, d) → (B, N, H·d)."""
    return t.transpose(1, 2).reshape(t.shape[0], t.shape[2], -1)


def cross_attend(q, k, v, text_keys: torch.Tensor | None, alpha: float, scale: float) -> torch.Tensor:
    """Every query row over the text keys; ``text_keys`` (B, Nk) bool where filler keys keep dense weights."""
    if text_keys is not None:
        return pladis_attention_on_keys(q, k, v, text_keys, alpha, scale)
    out = torch.empty(*q.shape[:3], v.shape[-1], dtype=v.dtype, device=v.device)
    return pladis_attention_heads(q, k, v, alpha, scale, out=out)


# PixArt α/Σ -------------------------------------------------------------------------------------------------


def pixart_forward(patch, layout, x, cond, mask=None, **kwargs):
    if mask is not None:
        return None
    m = patch.twin
    batch, n, channels = x.shape
    q = _heads(m.q_linear(x), m.num_heads)
    # PixArt flattens the batch's T5 tokens into one row (1, B·L, C); per element they are (L, C) again.
    k, v = m.kv_linear(cond).reshape(batch, -1, 2, m.num_heads, m.head_dim).unbind(2)
    out = patch.attention(q, k.transpose(1, 2), v.transpose(1, 2), layout)
    return m.proj_drop(m.proj(_tokens(out).to(x.dtype)))


PIXART = ObjectPatchedFamily(
    name="PixArt", attention=CROSS, layout=lambda call: None, forward=pixart_forward, attend=cross_attend
)


# HunyuanDiT -------------------------------------------------------------------------------------------------


def hunyuan_dit_text_keys(call: ModelCall) -> torch.Tensor | None:
    """(B, 77 + 256) bool: the CLIP and mT5 positions their masks set; None when every key is text."""
    clip, mt5 = call.conds.get("text_embedding_mask"), call.conds.get("text_embedding_mask_t5")
    if clip is None or mt5 is None:
        return None
    keys = torch.cat([clip.reshape(clip.shape[0], -1), mt5.reshape(mt5.shape[0], -1)], dim=1).bool()
    return None if bool(keys.all()) else keys


def hunyuan_dit_forward(patch, text_keys, x, y, freqs_cis_img=None, **kwargs):
    m = patch.twin
    batch, n, _ = x.shape
    if text_keys is not None and tuple(text_keys.shape) != (batch, y.shape[1]):
        return None
    q = m.q_norm(m.q_proj(x).view(batch, n, m.num_heads, m.head_dim))
    k, v = m.kv_proj(y).view(batch, y.shape[1], 2, m.num_heads, m.head_dim).unbind(dim=2)
    k = m.k_norm(k)
    if freqs_cis_img is not None:  # the image queries' RoPE, by the module's own function
        from comfy.ldm.hydit.attn_layers import apply_rotary_emb

        q, _ = apply_rotary_emb(q, None, freqs_cis_img)
    out = patch.attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), text_keys)
    return (m.proj_drop(m.out_proj(_tokens(out).to(x.dtype))),)


HUNYUAN_DIT = ObjectPatchedFamily(
    name="HunyuanDiT", attention=CROSS, layout=hunyuan_dit_text_keys, forward=hunyuan_dit_forward, attend=cross_attend
)


# ERNIE-Image ------------------------------------------------------------------------------------------------


def ernie_forward(patch, text_tokens, x, attention_mask=None, image_rotary_emb=None, **kwargs):
    if attention_mask is not None or not 0 < text_tokens < x.shape[1]:
        return None
    m = patch.twin
    batch, length, _ = x.shape
    q = m.norm_q(m.to_q(x).view(batch, length, m.heads, m.head_dim))
    k = m.norm_k(m.to_k(x).view(batch, length, m.heads, m.head_dim))
    v = m.to_v(x).view(batch, length, m.heads, m.head_dim)
    if image_rotary_emb is not None:  # the model's RoPE (its unfused path: the same maths as the fused kernel)
        import comfy.quant_ops

        q, k = comfy.quant_ops.ck.apply_rope_split_half(q, k, image_rotary_emb)
    out = patch.attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), text_tokens)
    return m.to_out[0](_tokens(out).to(x.dtype))


def ernie_attend(q, k, v, text_tokens: int, alpha: float, scale: float) -> torch.Tensor:
    """[image ‖ text]: image rows × text keys, each row's text mass kept."""
    image = q.shape[2] - text_tokens
    return pladis_joint_attention(q, k, v, slice(image, q.shape[2]), slice(0, image), alpha, scale)


ERNIE_IMAGE = ObjectPatchedFamily(
    name="ERNIE-Image",
    attention=JOINT,
    layout=lambda call: call.text_tokens,
    forward=ernie_forward,
    attend=ernie_attend,
    part="block",
)
