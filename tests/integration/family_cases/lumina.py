"""Lumina 2 and Z-Image (Turbo, pixel space, Omni): the main layers' image rows over the caption."""

from __future__ import annotations

import functools
import types

import comfy.model_base
import comfy.supported_models
import torch
from harness import CONTEXT_DIM, gen

from family_cases.common import case


def lumina_case(zimage, pixel=False, omni=False):
    """Lumina 2, Z-Image, Z-Image pixel space; Omni: a reference image with its own text, SigLIP features and
    latent ([captions | SigLIP groups | images], each padded to 32)."""
    if zimage and not hasattr(comfy.supported_models, "ZImage"):
        return None
    if pixel and not hasattr(comfy.supported_models, "ZImagePixelSpace"):
        return None
    import inspect

    import comfy.ldm.lumina.model as lumina

    config = {
        "image_model": "lumina2",
        "patch_size": 2,
        "in_channels": 16,
        "dim": 64,
        "n_layers": 2,
        "n_refiner_layers": 1,
        "n_heads": 4,
        "n_kv_heads": 2,  # grouped k/v heads, repeated by the model before attention
        "multiple_of": 16,
        "ffn_dim_multiplier": 1.0,
        "qk_norm": True,
        "cap_feat_dim": CONTEXT_DIM,
        "axes_dims": [4, 6, 6],
        "axes_lens": [64, 64, 64],
    }
    if zimage:
        # (Z-Image's modulation assumes a width of at least 256)
        config.update(z_image_modulation=True, pad_tokens_multiple=32, dim=256, axes_dims=[16, 24, 24])
    if omni:
        config.update(siglip_feat_dim=24)
    known = set(inspect.signature(lumina.NextDiT.__init__).parameters)
    config = {k: v for k, v in config.items() if k in known | {"image_model"}}
    if pixel:  # RGB patches in, a small per-patch decoder out
        config.update(image_model="zimage_pixel", in_channels=3, decoder_hidden_size=32, decoder_num_res_blocks=1)
        model_config = comfy.supported_models.ZImagePixelSpace(config)
    else:
        model_config = (comfy.supported_models.ZImage if zimage else comfy.supported_models.Lumina2)(config)

    def cond(seed, n):  # (ComfyUI 0.3.64 reads the token count from the encoder's mask)
        extra = {"attention_mask": torch.ones(1, n, dtype=torch.long)}
        if omni:
            g = gen(seed + 10)
            vision = types.SimpleNamespace(
                image_sizes=[(3, 64, 64)], last_hidden_state=torch.randn(1, 16, 24, generator=g)
            )
            extra.update(
                reference_latents=[torch.randn(1, 16, 8, 8, generator=g)],
                reference_latents_text_embeds=[torch.randn(1, 4, CONTEXT_DIM, generator=g)],
                clip_vision_outputs=[vision],  # a 64x64 image: 4x4 SigLIP tokens
            )
        return [[torch.randn(1, n, CONTEXT_DIM, generator=gen(seed)), extra]]

    def expect(n_query, n_key, n_text):
        if omni:  # [ref text 4 | pads 28 | prompt | pads] [SigLIP 16 | pads 16] [pads 32] [ref image 16 | pads] [image]
            if n_query != n_key or n_query != 192:
                return None
            return torch.tensor([*range(4), *range(32, 32 + n_text)]), slice(160, 176)
        caption = 32 if zimage else n_text
        if n_query != n_key or n_query < caption + 16:
            return None
        return slice(0, n_text), slice(caption, caption + 16)

    latent = torch.zeros(1, 3 if pixel else 16, 8, 8)
    model_class = comfy.model_base.ZImagePixelSpace if pixel else comfy.model_base.Lumina2
    return case(model_config, model_class, latent, cond, expect, ["double"])


CASES = {
    "lumina2": functools.partial(lumina_case, False),
    "zimage": functools.partial(lumina_case, True),
    "zimage_pixel": functools.partial(lumina_case, True, pixel=True),
    "zimage_omni": functools.partial(lumina_case, True, omni=True),
}
