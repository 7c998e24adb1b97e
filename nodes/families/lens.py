"""Lens (``LensTransformer2DModel``): double-stream blocks, joint attention image first: [image | text],
``block_type`` "double" with ``block_index``; one token per latent pixel (the latent comes packed).

Text keys: all the context's tokens (the encoder's, several of its layers concatenated per token); the model
masks the prompt's padding itself (its joint mask), and PLADIS honours that mask.
"""

from __future__ import annotations

from .base import JOINT, DitFamily, ModelCall, TokenLayout, image_first


def lens_layout(call: ModelCall) -> TokenLayout:
    image = call.x.shape[-2] * call.x.shape[-1]
    return image_first(image, image, call.text_tokens)


LENS = DitFamily(name="Lens", attention=JOINT, layout=lens_layout)
