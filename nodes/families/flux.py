"""Flux-style joint attention, text first: [text | image | reference latents], double then single blocks.

Text keys: the encoder's tokens. Flux.2 (dev, Klein; ComfyUI's ``Flux2`` base model on the ``Flux`` class)
left-pads its text with zero rows up to 512 tokens (``Flux2.extra_conds``): those rows are filler and keep their
dense weights; the text is the sub-slice after them, per batch element. Reference (Kontext, Flux.2 edit) latents
come after the image: they are image keys and their rows stay unchanged.
"""

from __future__ import annotations

import torch

from .base import JOINT, DitFamily, ModelCall, TokenLayout, class_names, image_token_count, text_first

TEXT_KEYS = "the text encoder's tokens; reference latents are image keys and keep their rows"


def leading_zero_rows(context: torch.Tensor) -> list[int]:
    """Per batch element, how many all-zero token rows the context starts with."""
    nonzero = context.ne(0).any(dim=-1)  # (B, L)
    return torch.where(nonzero.any(dim=1), nonzero.int().argmax(dim=1), context.shape[1]).tolist()


def flux_layout(call: ModelCall) -> TokenLayout:
    image = image_token_count(call.x, call.diffusion_model.patch_size)
    if call.context is None or "Flux2" not in class_names(call.base_model):
        return text_first(call.text_tokens, image)
    length = call.text_tokens
    fillers = leading_zero_rows(call.context)
    common = min(fillers)
    batch_text = tuple(slice(n, length) for n in fillers) if len(set(fillers)) > 1 else ()
    return text_first(length - common, image, filler=common, batch_text=batch_text)


FLUX = DitFamily(name="Flux", attention=JOINT, layout=flux_layout)
CHROMA = DitFamily(name="Chroma", attention=JOINT, layout=flux_layout)
