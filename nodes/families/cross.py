"""DiTs with a true text cross-attention per block: Cosmos Predict2, Cosmos Predict1, Anima (Cosmos Predict2's DiT),
LTXV, Kandinsky 5 and 5 Image.

Cosmos Predict2. Text keys: every key of the text cross-attention (T5 with its padding to 512 tokens, which
ComfyUI's Cosmos text encoder zeroes: the encoder's output, not inserted by the model); every query row changes,
as in UNet cross-attention. Block identity from ComfyUI's ``block_index``.

Cosmos Predict1 (``GeneralDIT``). Each block is a sequence of sub-blocks named by its ``block_config`` ("FA-CA-MLP"
in ComfyUI's checkpoints): self-attention, then the text cross-attention, whose keys are all T5 tokens (the same
encoder and padding as Predict2); every video row changes. Video2World conditions through the latent and a mask
channel, not tokens. ComfyUI passes no block info: blocks are identified by call order, so a model whose blocks
do not have exactly one cross-attention each is not accepted.

Anima. Its LLM adapter turns the T5 tokens into the context and the model right-pads that with zero rows to 512
(``preprocess_text_embeds``): those rows are filler and keep their dense weights, so the text keys are the
adapter's tokens, a sub-slice [text | filler] per batch element. The adapter's own attention calls PyTorch
directly and is not patched.

LTXV (LTX-Video 0.9.x). Text keys: every key of the text cross-attention (T5), with the prompt's padding
masked by the model's own mask; the query rows are the video tokens and any keyframe guide tokens after them.
ComfyUI passes no block info: blocks are identified by call order.

Kandinsky 5 (video) and 5 Image. Text self-attention blocks refine the Qwen2.5-VL tokens, then each visual block
has self-attention and a text cross-attention: text keys are all of its keys; every visual row changes.
"""

from __future__ import annotations

from typing import Any

import torch

from .base import CROSS, DitFamily, ModelCall, TokenLayout, image_token_count, text_cross_attention


def cosmos_layout(call: ModelCall) -> TokenLayout:
    dm = call.diffusion_model
    video = image_token_count(call.x, (dm.patch_temporal, dm.patch_spatial, dm.patch_spatial))
    return text_cross_attention(call, video)


COSMOS_PREDICT2 = DitFamily(name="Cosmos Predict2", attention=CROSS, layout=cosmos_layout)


def one_cross_attention_per_block(diffusion_model: Any) -> bool:
    return all(
        sum(part.block_type in ("cross_attn", "ca") for part in block.blocks) == 1
        for block in diffusion_model.blocks.values()
    )


COSMOS_PREDICT1 = DitFamily(
    name="Cosmos Predict1", attention=CROSS, layout=cosmos_layout, accepts=one_cross_attention_per_block
)


def trailing_zero_rows(context: torch.Tensor) -> list[int]:
    """Per batch element, how many all-zero token rows the context ends with."""
    nonzero = context.ne(0).any(dim=-1).flip(1)  # (B, L), last token first
    return torch.where(nonzero.any(dim=1), nonzero.int().argmax(dim=1), context.shape[1]).tolist()


ANIMA_TEXT_LENGTH = 512


def anima_layout(call: ModelCall) -> TokenLayout:
    cosmos = cosmos_layout(call)
    ids = call.conds.get("t5xxl_ids")
    if ids is not None:  # the adapter runs inside the model call; the padding follows it
        text = ids.shape[-1]
        return TokenLayout(slice(0, text), cosmos.image, max(text, ANIMA_TEXT_LENGTH))
    if call.context is None:
        return cosmos
    ends = [call.text_tokens - n for n in trailing_zero_rows(call.context)]
    batch_text = tuple(slice(0, end) for end in ends) if len(set(ends)) > 1 else ()
    return TokenLayout(slice(0, max(ends)), cosmos.image, call.text_tokens, batch_text)


ANIMA = DitFamily(name="Anima", attention=CROSS, layout=anima_layout)


def ltxv_layout(call: ModelCall) -> TokenLayout:
    video = image_token_count(call.x, tuple(call.diffusion_model.patchifier.patch_size))
    return text_cross_attention(call, video)


LTXV = DitFamily(name="LTXV", attention=CROSS, layout=ltxv_layout)


def kandinsky_layout(call: ModelCall) -> TokenLayout:
    visual = image_token_count(call.x, tuple(call.diffusion_model.patch_size))
    return text_cross_attention(call, visual)


KANDINSKY5 = DitFamily(name="Kandinsky 5", attention=CROSS, layout=kandinsky_layout)
