"""JoyImage (``JoyImageTransformer3DModel``): double-stream blocks, joint attention image first:
[target image | reference latents | text], ``block_type`` "double" with ``block_index``.

Text keys: all the context's tokens (the Qwen3-VL encoder's; the model inserts no filler). The reference
latents are not text: only the target image's rows change, the references' rows stay unchanged.
"""

from __future__ import annotations

from .base import JOINT, DitFamily, ModelCall, TokenLayout, image_first, image_token_count


def joyimage_layout(call: ModelCall) -> TokenLayout:
    patch = call.diffusion_model.patch_size
    image = image_token_count(call.x, patch)
    text_start = image + sum(image_token_count(ref, patch) for ref in call.conds.get("ref_latents") or ())
    return image_first(image, text_start, call.text_tokens)


JOYIMAGE = DitFamily(name="JoyImage", attention=JOINT, layout=joyimage_layout)
