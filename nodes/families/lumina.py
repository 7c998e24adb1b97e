"""Lumina 2, Z-Image (Turbo) and Z-Image pixel space (ComfyUI's ``NextDiT`` and ``NextDiTPixelSpace``, the same
backbone with a per-patch pixel decoder in place of the final layer): a text-only context refiner and an
image-only noise refiner, then joint layers over [caption | image] with ``block_type`` "double" and ``block_index``.

Text keys: the encoder's caption tokens. Z-Image pads the caption and the image each to a multiple of 32 with
learned pad tokens ([caption | caption pads | image | image pads]): the pads are filler and keep their dense
weights, and their rows stay unchanged. Z-Image Omni (reference images: several captions, SigLIP tokens and
reference latents interleaved) is not described: PLADIS passes its calls through, and the log says so.
"""

from __future__ import annotations

from .base import JOINT, DitFamily, ModelCall, TokenLayout, image_token_count

NOTHING = TokenLayout(slice(0, 0), slice(0, 0), 0)


def lumina_layout(call: ModelCall) -> TokenLayout:
    dm = call.diffusion_model
    if call.conds.get("ref_latents"):
        return NOTHING
    text = call.text_tokens
    multiple = getattr(dm, "pad_tokens_multiple", None)
    caption = text + (-text % multiple if multiple else 0)
    image = image_token_count(call.x, dm.patch_size)
    return TokenLayout(slice(0, text), slice(caption, caption + image), caption + image)


LUMINA = DitFamily(
    "Lumina 2 / Z-Image",
    ("NextDiT", "NextDiTPixelSpace"),
    (("double", "layers"),),
    JOINT,
    lumina_layout,
    "the encoder's caption tokens; Z-Image's pads to multiples of 32 are filler",
)
