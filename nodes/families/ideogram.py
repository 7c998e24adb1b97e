"""Ideogram 4 (``Ideogram4Transformer2DModel``): one single-stream sequence, text first: [text | image], one
attention per layer; ComfyUI passes no block info (call order). The latent is already cut into 2x2 patches
(128 channels), so each latent position is one image token.

Text keys: every token of the context (the LLM's hidden states). Where the prompt is padded, ComfyUI passes the
encoder's mask and the model puts the padding in a segment of its own: the image rows cannot see it under the
model's mask, in the dense and the PLADIS weights alike. The unconditional pass (no context) has no text and
is passed through.
"""

from __future__ import annotations

from .base import JOINT, DitFamily, ModelCall, TokenLayout, image_token_count, text_first


def ideogram4_layout(call: ModelCall) -> TokenLayout:
    return text_first(call.text_tokens, image_token_count(call.x, 1))


IDEOGRAM4 = DitFamily(name="Ideogram 4", attention=JOINT, layout=ideogram4_layout)
