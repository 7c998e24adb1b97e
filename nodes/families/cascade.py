"""Stable Cascade stage C (``StageC``): each attention block's image queries attend to [the image's own tokens |
CLIP-text | 4 pooled-text tokens per pooled vector | 4 CLIP-image tokens per image] (self-attention and text
conditioning in one call), at every level's own resolution; ComfyUI passes no block info (call order over the
attention blocks, down levels then up levels, each repeat once more).

Text keys: the CLIP-text tokens only (the text encoder's hidden states, with its own padding to 77). The
pooled-text tokens are the model's projection of one pooled vector, and the CLIP-image tokens come from an
image encoder (or are zeros without one): neither is text, and their columns, like the image's, keep their
dense weights. Every query row is an image token and changes. Only models whose attention blocks all attend
to the image's own tokens too (``self_attn``, as every released stage C) are described.
"""

from __future__ import annotations

from typing import Any

from .base import SELF_AND_CROSS, DitFamily, ModelCall, TokenLayout

NOTHING = TokenLayout(slice(0, 0), slice(0, 0), 0)


def attention_blocks(diffusion_model: Any, _attribute: str) -> list[Any]:
    """StageC's AttnBlocks in the order its forward calls them (a level's blocks once per repeat)."""
    levels = zip(
        [*diffusion_model.down_blocks, *diffusion_model.up_blocks],
        [*getattr(diffusion_model, "down_repeat_mappers", []), *getattr(diffusion_model, "up_repeat_mappers", [])],
        strict=False,
    )
    return [
        block
        for blocks, repeats in levels
        for _ in range(len(repeats) + 1)
        for block in blocks
        if type(block).__name__ == "AttnBlock"
    ]


def _tokens(embedding: Any, per_vector: int) -> int:
    return per_vector * (embedding.shape[1] if embedding.dim() == 3 else 1)


def stage_c_layout(call: ModelCall) -> TokenLayout:
    text, pooled, image = (call.conds.get(name) for name in ("clip_text", "clip_text_pooled", "clip_img"))
    if text is None or pooled is None or image is None:
        return NOTHING
    seq = call.diffusion_model.c_clip_seq
    n_text = text.shape[1]
    return TokenLayout(slice(0, n_text), slice(0, 0), n_text + _tokens(pooled, seq) + _tokens(image, seq))


STABLE_CASCADE_C = DitFamily(
    name="Stable Cascade stage C",
    attention=SELF_AND_CROSS,
    layout=stage_c_layout,
    accepts=lambda diffusion_model: all(block.self_attn for block in attention_blocks(diffusion_model, "")),
    blocks=attention_blocks,
)
