"""Mochi: joint, image first, the T5 tokens the model keeps."""

from __future__ import annotations

import comfy.model_base
import comfy.supported_models
import torch
from harness import CONTEXT_DIM, gen

from family_cases.common import case, image_first_expect, requires


@requires("GenmoMochi")
def mochi_case():
    config = {
        "image_model": "mochi_preview",
        "depth": 2,
        "patch_size": 2,
        "num_heads": 4,
        "hidden_size_x": 64,
        "hidden_size_y": 32,
        "mlp_ratio_x": 192.0,  # the class asserts a visual MLP width of 1536 * 8; 64 * 192 is that width
        "mlp_ratio_y": 4.0,
        "learn_sigma": False,
        "in_channels": 12,
        "qk_norm": True,
        "qkv_bias": False,
        "out_bias": True,
        "patch_embed_bias": True,
        "timestep_mlp_bias": True,
        "timestep_scale": 1000.0,
        "use_t5": True,
        "t5_feat_dim": CONTEXT_DIM,
        "t5_token_length": 256,
    }
    model_config = comfy.supported_models.GenmoMochi(config)

    def cond(seed, n):
        mask = torch.ones(1, n, dtype=torch.long)
        mask[:, -2:] = 0  # the T5 padding: the model keeps only the first sum(mask) tokens
        return [[torch.randn(1, n, CONTEXT_DIM, generator=gen(seed)), {"attention_mask": mask}]]

    def expect(n_query, n_key, n_text):
        return image_first_expect(32)(n_query, n_key, n_text - 2)

    latent = torch.zeros(1, 12, 2, 8, 8)  # 2 latent frames of 4x4 patches: 32 video tokens
    model_class = comfy.model_base.GenmoMochi
    return case(model_config, model_class, latent, cond, expect, ["double"])


CASES = {
    "mochi": mochi_case,
}
