"""Boogu-Image (``BooguTransformer2DModel``, an OmniGen2 derivative): text-only, image-only and reference-only
refiners, then double-stream blocks (a joint attention over [instruction | reference latents | target image],
with separate projections per stream, and an image-only self-attention), then single-stream OmniGen2 blocks over
the same [instruction | references | target]. ComfyUI passes no block info (call order). Both stages are sites;
no refiner and no image self-attention has text keys.

Text keys: all the instruction's tokens (the Qwen3-VL encoder's; the model inserts no filler, and both stages
attend them all). Reference latents are image-encoder tokens, not text: only the target image's rows change.
"""

from __future__ import annotations

from .base import JOINT, DitFamily
from .omnigen2 import omnigen2_layout

BOOGU = DitFamily(name="Boogu-Image", attention=JOINT, layout=omnigen2_layout)
