"""Ideogram 4: single stream, text first."""

from __future__ import annotations

import comfy.model_base
import comfy.supported_models
import torch
from harness import CONTEXT_DIM, gen

from family_cases.common import case, joint_expect, requires


@requires("Ideogram4")
def ideogram4_case():
    model_config = comfy.supported_models.Ideogram4({"image_model": "ideogram4"})
    # (its fixed real-size settings replace the config's: the tiny ones go in after)
    model_config.unet_config.update(
        num_layers=2,
        num_attention_heads=4,
        attention_head_dim=32,
        intermediate_size=128,
        adaln_dim=32,
        llm_features_dim=CONTEXT_DIM,
        mrope_section=[4, 2, 2],
    )

    def cond(seed, n):
        mask = torch.ones(1, n, dtype=torch.long)
        mask[:, -2:] = 0  # the prompt's padding: a segment of its own under the model's mask
        return [[torch.randn(1, n, CONTEXT_DIM, generator=gen(seed)), {"attention_mask": mask}]]

    latent = torch.zeros(1, 128, 4, 4)  # 2x2 patches already packed into the channels: 16 image tokens
    model_class, expect = comfy.model_base.Ideogram4, joint_expect()
    return case(model_config, model_class, latent, cond, expect, ["single"])


CASES = {
    "ideogram4": ideogram4_case,
}
