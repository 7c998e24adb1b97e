"""Stable Cascade stage C: image rows over the CLIP-text keys."""

from __future__ import annotations

import comfy.model_base
import comfy.supported_models
import torch
from harness import CONTEXT_DIM, gen

from family_cases.common import case


def stage_c_case():
    config = {
        "stable_cascade_stage": "c",
        "c_in": 16,
        "c_out": 16,
        "c_r": 16,
        "c_cond": 64,
        "c_hidden": [32, 32],
        "nhead": [2, 2],
        "blocks": [[1, 1], [1, 1]],
        "level_config": ["CTA", "CTA"],
        "c_clip_text": CONTEXT_DIM,
        "c_clip_text_pooled": 32,
        "switch_level": [True],  # the second level at half the resolution: other query and key counts
    }
    model_config = comfy.supported_models.Stable_Cascade_C(config)

    def cond(seed, n):
        g = gen(seed)
        return [[torch.randn(1, n, CONTEXT_DIM, generator=g), {"pooled_output": torch.randn(1, 32, generator=g)}]]

    def expect(n_query, n_key, n_text):
        # [image | CLIP-text | 4 pooled-text tokens | 4 CLIP-image tokens (zeros without an image)]
        if n_key != n_query + n_text + 8 or n_query not in (64, 16):
            return None
        return slice(n_query, n_query + n_text), slice(0, n_query)

    latent = torch.zeros(1, 16, 8, 8)
    model_class = comfy.model_base.StableCascade_C
    return case(model_config, model_class, latent, cond, expect, ["block"])


CASES = {
    "stable_cascade_c": stage_c_case,
}
