"""AuraFlow (``MMDiT``): joint attention [8 register tokens | text | image] in double then single layers;
ComfyUI passes no block info (call order).

Text keys: the encoder's tokens. The model's learned register tokens, put before the text, are filler and keep
their dense weights, and their rows stay unchanged.
"""

from __future__ import annotations

from .base import JOINT, DitFamily, ModelCall, TokenLayout, image_token_count, text_first


def aura_layout(call: ModelCall) -> TokenLayout:
    dm = call.diffusion_model
    registers = dm.register_tokens.shape[1]
    return text_first(call.text_tokens, image_token_count(call.x, dm.patch_size), filler=registers)


AURAFLOW = DitFamily(
    name="AuraFlow",
    attention=JOINT,
    layout=aura_layout,
    accepts=lambda diffusion_model: hasattr(diffusion_model, "register_tokens"),
)
