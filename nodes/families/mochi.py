"""Mochi (``AsymmDiTJoint``): asymmetric joint attention, image first: [video | text], one attention per block
over the video tokens and the T5 tokens cropped to the prompt's length; ComfyUI passes no block info (call
order; ComfyUI keys these blocks ``double_block``).

Text keys: the T5 tokens the model keeps, ``num_tokens`` of them (the prompt's unmasked tokens, which
``extra_conds`` counts from the encoder's attention mask; without a mask the model keeps up to 256). The T5
padding after them is cut by the model before the attention: it never becomes a key.
"""

from __future__ import annotations

from .base import JOINT, DitFamily, ModelCall, TokenLayout, image_first, image_token_count

MOCHI_DEFAULT_TOKENS = 256  # the model's default ``num_tokens`` when no attention mask comes with the prompt


def mochi_layout(call: ModelCall) -> TokenLayout:
    video = image_token_count(call.x, call.diffusion_model.patch_size)
    kept = call.conds.get("num_tokens", MOCHI_DEFAULT_TOKENS)
    text = min(int(kept), call.text_tokens)
    return image_first(video, video, text)


MOCHI = DitFamily(name="Mochi", attention=JOINT, layout=mochi_layout)
