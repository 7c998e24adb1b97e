"""Lumina 2, Z-Image (Turbo) and Z-Image pixel space (ComfyUI's ``NextDiT`` and ``NextDiTPixelSpace``, the same
backbone with a per-patch pixel decoder in place of the final layer): a text-only context refiner and an
image-only noise refiner, then joint layers over [caption | image] with ``block_type`` "double" and ``block_index``.

Text keys: the encoder's caption tokens. Z-Image pads the caption and the image each to a multiple of 32 with
learned pad tokens ([caption | caption pads | image | image pads]): the pads are filler and keep their dense
weights, and their rows stay unchanged.

Z-Image Omni (reference images) lays its joint layers out as [captions | SigLIP tokens | images], each segment
padded to a multiple of 32: the captions are one per reference (its text embeds, or only pads), the prompt's,
then any further reference texts; the SigLIP tokens one group per reference (its CLIP-vision features, or only
pads) and a group of pads for the target; the images the reference latents', then the target's. Text keys: every
caption's encoder tokens (the reference texts came out of the text encoder too), read first (``key_order``): the
pads, the SigLIP tokens and the reference latents keep their dense weights. Only the target image's rows change.
"""

from __future__ import annotations

from typing import Any

import torch

from .base import JOINT, DitFamily, ModelCall, TokenLayout, image_token_count, no_text, text_keys_first


def _padded(tokens: int, multiple: int) -> int:
    return tokens + (-tokens % multiple)


def zimage_omni_layout(call: ModelCall, multiple: int | None) -> TokenLayout:
    dm = call.diffusion_model
    if not multiple or call.context is None:
        return no_text("reference latents on a model without Z-Image's token padding")
    references = list(call.conds.get("ref_latents") or [])
    contexts = list(call.conds.get("ref_contexts") or [])
    siglip = list(call.conds.get("siglip_feats") or [])

    def caption_tokens(context: Any) -> int:
        return 0 if context is None else context.shape[1]

    per_reference = [caption_tokens(contexts[i]) if i < len(contexts) else 0 for i in range(len(references))]
    captions = per_reference + [call.text_tokens] + [caption_tokens(c) for c in contexts[len(references) :]]
    text, start = [], 0
    for tokens in captions:
        text.append(torch.arange(start, start + tokens))
        start += _padded(tokens, multiple) if tokens else multiple
    if getattr(dm, "siglip_embedder", None) is not None:
        for i in range(len(references)):
            start += _padded(siglip[i].shape[1] * siglip[i].shape[2], multiple) if i < len(siglip) else multiple
        start += multiple  # the target's group: pads only
    for reference in references:
        start += _padded(image_token_count(reference, dm.patch_size), multiple)
    image = image_token_count(call.x, dm.patch_size)
    length = start + _padded(image, multiple)
    is_text = torch.zeros(length, dtype=torch.bool)
    is_text[torch.cat(text)] = True
    return text_keys_first(is_text, slice(start, start + image))


def lumina_layout(call: ModelCall) -> TokenLayout:
    dm = call.diffusion_model
    if call.conds.get("ref_latents"):
        return zimage_omni_layout(call, getattr(dm, "pad_tokens_multiple", None))
    text = call.text_tokens
    multiple = getattr(dm, "pad_tokens_multiple", None)
    caption = text + (-text % multiple if multiple else 0)
    image = image_token_count(call.x, dm.patch_size)
    return TokenLayout(slice(0, text), slice(caption, caption + image), caption + image)


LUMINA = DitFamily(name="Lumina 2 / Z-Image", attention=JOINT, layout=lumina_layout)
