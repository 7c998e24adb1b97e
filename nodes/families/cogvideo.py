"""CogVideoX 1.0 / 1.5 (``CogVideoXTransformer3DModel``): joint attention, text first: [text | video];
ComfyUI passes no block info (call order).

Text keys: the T5 tokens (the encoder pads them to 226 itself: its output, not inserted by the model).
"""

from __future__ import annotations

from .base import JOINT, DitFamily, ModelCall, TokenLayout, image_token_count, text_first


def cogvideo_layout(call: ModelCall) -> TokenLayout:
    embed = call.diffusion_model.patch_embed
    video = image_token_count(call.x, (embed.patch_size_t or 1, embed.patch_size, embed.patch_size))
    return text_first(call.text_tokens, video)


COGVIDEOX = DitFamily(name="CogVideoX", attention=JOINT, layout=cogvideo_layout)
