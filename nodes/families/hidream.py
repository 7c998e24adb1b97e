"""HiDream I1 and E1 (``HiDreamImageTransformer2DModel``): joint attention, image first: [image | T5 | last Llama
layer | this block's Llama layer], in double then single blocks; ComfyUI passes no block info (call order).

Text keys: all of them (T5 and the two Llama-3.1 layer states are the encoders' outputs). HiDream E1 concatenates
the edit image's latent to the target's along the width, so each row of patches holds the target's patches, then
the reference's: the reference tokens are image keys and keep their rows, and the target rows, interleaved with
them, are read first (``query_order``). A target whose width is not a whole number of patches would share patches
with the reference: passed through, and logged.
"""

from __future__ import annotations

import torch

from .base import JOINT, DitFamily, ModelCall, TokenLayout, image_token_count, no_text


def hidream_layout(call: ModelCall) -> TokenLayout:
    llama = call.conds.get("encoder_hidden_states_llama3")
    if llama is None:
        return no_text("the model call carries no Llama states")
    patch = call.diffusion_model.patch_size
    text = call.text_tokens + 2 * llama.shape[-2]
    reference = call.conds.get("image_cond")
    if reference is None:
        image = image_token_count(call.x, patch)
        return TokenLayout(slice(image, image + text), slice(0, image), image + text)
    if call.x.shape[-1] % patch:
        return no_text("the edit target's width is not a whole number of patches")
    rows, target_columns = -(-call.x.shape[-2] // patch), call.x.shape[-1] // patch
    columns = -(-(call.x.shape[-1] + reference.shape[-1]) // patch)
    image = rows * columns
    grid = torch.arange(image).view(rows, columns)
    order = torch.cat(
        (grid[:, :target_columns].flatten(), grid[:, target_columns:].flatten(), torch.arange(image, image + text))
    )
    return TokenLayout(slice(image, image + text), slice(0, rows * target_columns), image + text, query_order=order)


HIDREAM = DitFamily(name="HiDream", attention=JOINT, layout=hidream_layout)
