"""Krea 2 (``SingleStreamDiT``): a text-only fusion adapter (attention across the encoder's layers, then over
the text), then single-stream blocks over [text | image | reference latents], ``block_type`` "single" with
``block_index``. Only the main blocks are sites: the adapter's attention has no image queries. A video latent
(B, C, T, H, W) is run frame by frame (the batch becomes B·T), so the image tokens are those of one frame.

Text keys: all the context's tokens (the Qwen3-VL layer stack, fused by the adapter into one token per encoder
token; the model inserts no filler). Reference latents come after the image: they are image keys and their
rows stay unchanged.
"""

from __future__ import annotations

from .base import JOINT, DitFamily, ModelCall, TokenLayout, image_token_count, text_first


def krea2_layout(call: ModelCall) -> TokenLayout:
    frame = call.x.reshape(-1, *call.x.shape[-3:])  # one frame: (·, C, H, W)
    return text_first(call.text_tokens, image_token_count(frame, call.diffusion_model.patch))


KREA2 = DitFamily(
    name="Krea2",
    attention=JOINT,
    layout=krea2_layout,
    accepts=lambda diffusion_model: hasattr(diffusion_model, "txtfusion") and hasattr(diffusion_model, "patch"),
)
