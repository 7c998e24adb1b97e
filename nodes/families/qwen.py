"""Qwen-Image (and Edit): joint attention, text first, ``block_type`` "double" with ``block_index``.

Text keys: the Qwen2.5-VL encoder's tokens; edit reference latents come after the image and keep their rows.
"""

from __future__ import annotations

from .base import JOINT, DitFamily, ModelCall, TokenLayout, image_token_count, text_first


def qwen_layout(call: ModelCall) -> TokenLayout:
    return text_first(call.text_tokens, image_token_count(call.x, call.diffusion_model.patch_size))


QWEN_IMAGE = DitFamily(name="Qwen-Image", attention=JOINT, layout=qwen_layout)
