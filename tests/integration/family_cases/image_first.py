"""JoyImage and Lens: joint, image first."""

from __future__ import annotations

import comfy.model_base
import comfy.supported_models
import torch
from harness import CONTEXT_DIM, gen

from family_cases.common import case, image_first_expect, requires


@requires("JoyImage")
def joyimage_case():
    config = {
        "image_model": "joyimage",
        "patch_size": [1, 2, 2],
        "in_channels": 16,
        "hidden_size": 64,
        "num_attention_heads": 4,
        "text_dim": CONTEXT_DIM,
        "mlp_width_ratio": 2.0,
        "num_layers": 2,
    }
    model_config = comfy.supported_models.JoyImage(config)
    model_config.unet_config["rope_dim_list"] = [4, 6, 6]  # (the model config sets the real model's head split)

    def cond(seed, n):
        g = gen(seed)  # an edit: one reference latent, 4 tokens between the target's 16 and the text
        extra = {"reference_latents": [torch.randn(1, 16, 1, 4, 4, generator=g)]}
        return [[torch.randn(1, n, CONTEXT_DIM, generator=g), extra]]

    return case(
        model_config,
        comfy.model_base.JoyImage,
        torch.zeros(1, 16, 1, 8, 8),
        cond,
        image_first_expect(16, between=4),
        ["double"],
    )


LENS_TEXT_LAYERS = 2  # the text encoder's layers Lens reads, stacked per token


@requires("Lens")
def lens_case():
    config = {
        "image_model": "lens",
        "patch_size": 2,
        "in_channels": 128,
        "out_channels": 32,
        "num_layers": 2,
        "attention_head_dim": 16,
        "num_attention_heads": 4,
        "enc_hidden_dim": CONTEXT_DIM,
        "axes_dims_rope": [4, 6, 6],
        "selected_layer_index": list(range(LENS_TEXT_LAYERS)),
    }
    model_config = comfy.supported_models.Lens(config)

    def cond(seed, n):
        mask = torch.ones(1, n, dtype=torch.long)
        mask[:, -2:] = 0  # the prompt's padding, masked by the model
        return [[torch.randn(1, n, LENS_TEXT_LAYERS * CONTEXT_DIM, generator=gen(seed)), {"attention_mask": mask}]]

    return case(
        model_config, comfy.model_base.Lens, torch.zeros(1, 128, 4, 4), cond, image_first_expect(16), ["double"]
    )


CASES = {
    "joyimage": joyimage_case,
    "lens": lens_case,
}
