"""HiDream I1 (``HiDreamImageTransformer2DModel``): joint attention, image first: [image | T5 | last Llama layer |
this block's Llama layer], in double then single blocks; ComfyUI passes no block info (call order).

Text keys: all of them (T5 and the two Llama-3.1 layer states are the encoders' outputs). HiDream E1 (an edit
image concatenated to the latent along its width: target and reference tokens interleave row by row) is not
described: PLADIS passes its calls through, and the log says so.
"""

from __future__ import annotations

from .base import JOINT, DitFamily, ModelCall, TokenLayout, image_token_count


def hidream_layout(call: ModelCall) -> TokenLayout:
    llama = call.conds.get("encoder_hidden_states_llama3")
    if call.conds.get("image_cond") is not None or llama is None:
        return TokenLayout(slice(0, 0), slice(0, 0), 0)
    image = image_token_count(call.x, call.diffusion_model.patch_size)
    text = call.text_tokens + 2 * llama.shape[-2]
    return TokenLayout(slice(image, image + text), slice(0, image), image + text)


HIDREAM = DitFamily(
    "HiDream",
    ("HiDreamImageTransformer2DModel",),
    (("double", "double_stream_blocks"), ("single", "single_stream_blocks")),
    JOINT,
    hidream_layout,
    "the T5 and Llama tokens (image first)",
)
