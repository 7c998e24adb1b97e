"""OmniGen2 (``OmniGen2Transformer2DModel``): text-only, image-only and reference-only refiners, then joint
layers over [text | reference latents | target image]; ComfyUI passes no block info (call order). Only the main
layers are sites: no refiner has both text and image tokens.

Text keys: all the context's tokens (the Qwen2.5-VL encoder's; the model inserts no filler, and its main layers
attend them all). The reference latents are image-encoder tokens, not text: only the target image's rows change,
the references' rows stay unchanged.
"""

from __future__ import annotations

from .base import JOINT, DitFamily, ModelCall, TokenLayout, image_token_count


def omnigen2_layout(call: ModelCall) -> TokenLayout:
    patch = call.diffusion_model.patch_size
    text = call.text_tokens
    references = sum(image_token_count(ref, patch) for ref in call.conds.get("ref_latents") or ())
    start = text + references
    image = image_token_count(call.x, patch)
    return TokenLayout(slice(0, text), slice(start, start + image), start + image)


OMNIGEN2 = DitFamily(name="OmniGen2", attention=JOINT, layout=omnigen2_layout)
