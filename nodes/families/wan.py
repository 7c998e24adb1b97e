"""Wan 2.x: self-attention, then a true text cross-attention per block (``block_index`` set by ComfyUI).

Text keys: every key of the text cross-attention, i.e. the UMT5 encoder's tokens (the tokenizer pads them to
512 with its pad token: they are the encoder's output, not inserted by the model). Wan I2V's cross-attention to
the start image's 257 CLIP-vision tokens is a separate call and stays unchanged; so do the audio
cross-attentions of HuMo and S2V. The query rows are the video tokens, including the frames some variants add
(reference, motion, in-context latents). VACE's control blocks attend to the same text; their calls count as the
main block they run after. An I2V-type variant given no CLIP-vision input (ComfyUI then feeds the text to its
image cross-attention too) has both of those calls over the text keys, and both change.

SCAIL-2 adds a mask stream to the video and pose tokens (added, not new tokens). WanDancer puts the reference
image's CLIP-vision tokens before the start image's: its image cross-attention takes both, the text call only
the UMT5 tokens; its music injector calls its attention without ``transformer_options`` and stays unchanged.
Animate-2 runs a pose branch in each block before the generation branch: its queries are the pose frames (one
frame fewer than the generation tokens, so its text cross-attention does not match and stays dense). That branch
runs at a fixed timestep and ComfyUI may cache it across steps, so a step range could not hold for it; only the
generation branch's text cross-attention, over all its rows, changes.
"""

from __future__ import annotations

from .base import CROSS, DitFamily, ModelCall, TokenLayout, image_token_count, text_cross_attention


def wan_layout(call: ModelCall) -> TokenLayout:
    video = image_token_count(call.x, call.diffusion_model.patch_size)
    return text_cross_attention(call, video)


WAN = DitFamily(name="Wan", attention=CROSS, layout=wan_layout)
