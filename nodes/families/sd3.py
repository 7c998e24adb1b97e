"""SD3 / SD3.5 (MMDiT): joint attention [registers | text | image]; ComfyUI passes no block info (call order).

Text keys: the encoder's tokens; the model's learned register tokens (``register_length``, 0 in the released
SD3 models) are filler. SD3.5 Medium's image-only self-attention layers are not text attention.
"""

from __future__ import annotations

from .base import JOINT, DitFamily, ModelCall, TokenLayout, image_token_count, text_first


def sd3_layout(call: ModelCall) -> TokenLayout:
    dm = call.diffusion_model
    registers = getattr(dm, "register_length", 0)
    return text_first(call.text_tokens, image_token_count(call.x, dm.patch_size), filler=registers)


SD3 = DitFamily(name="SD3", attention=JOINT, layout=sd3_layout)
