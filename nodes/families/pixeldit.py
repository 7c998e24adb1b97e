"""PixelDiT T2I (``PixDiT_T2I``) and PiD (``PidNet``, its upscaler subclass): pixel-space; its patch blocks are
MM-DiT joint attention, text first: [text | patches]; its pixel blocks are patch-only self-attention (never
text). ComfyUI passes no block info (call order).

Text keys: the Gemma-2 tokens the model keeps (the context, cut to its ``txt_max_length``); the instruction
prefix the text encoder prepends is the encoder's output too. The model adds no filler. PiD adds its
low-quality latent's features to the patch stream before some patch blocks (a gated sum, no tokens): the joint
attention's layout is PixelDiT's.
"""

from __future__ import annotations

from .base import JOINT, DitFamily, ModelCall, TokenLayout, image_token_count, text_first


def pixeldit_layout(call: ModelCall) -> TokenLayout:
    dm = call.diffusion_model
    return text_first(min(call.text_tokens, dm.txt_max_length), image_token_count(call.x, dm.patch_size))


PIXELDIT = DitFamily(name="PixelDiT", attention=JOINT, layout=pixeldit_layout)
