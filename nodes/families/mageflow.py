"""MageFlow (``MageFlowTransformer2DModel``): Qwen-Image's double-stream blocks, joint attention text first:
[text | image | reference latents], ``block_type`` "double" with ``block_index``; one token per latent pixel
(patch size 1).

Text keys: the Qwen3-VL encoder's tokens (the whole context; the model inserts no filler). Reference latents
come after the image: they are image keys and their rows stay unchanged.
"""

from __future__ import annotations

from .base import JOINT, DitFamily
from .qwen import qwen_layout

MAGEFLOW = DitFamily(name="MageFlow", attention=JOINT, layout=qwen_layout)
