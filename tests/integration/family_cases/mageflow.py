"""MageFlow: joint, text first, with a reference latent."""

from __future__ import annotations

import comfy.model_base
import comfy.supported_models
import torch
from harness import CONTEXT_DIM, gen

from family_cases.common import case, joint_expect, requires


@requires("MageFlow")
def mageflow_case():
    config = {
        "image_model": "mage_flow",
        "in_channels": 128,
        "out_channels": 128,
        "num_layers": 2,
        "attention_head_dim": 16,
        "num_attention_heads": 4,
        "joint_attention_dim": CONTEXT_DIM,
        "axes_dims_rope": [4, 6, 6],
    }
    model_config = comfy.supported_models.MageFlow(config)

    def cond(seed, n):
        g = gen(seed)  # an edit: one reference latent, 9 tokens after the image's 16
        return [[torch.randn(1, n, CONTEXT_DIM, generator=g), {"reference_latents": [torch.randn(1, 128, 3, 3)]}]]

    return case(model_config, comfy.model_base.MageFlow, torch.zeros(1, 128, 4, 4), cond, joint_expect(), ["double"])


CASES = {
    "mageflow": mageflow_case,
}
