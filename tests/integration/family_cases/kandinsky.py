"""Kandinsky 5 and Kandinsky 5 Image: the visual blocks' text cross-attention."""

from __future__ import annotations

import functools

import comfy.model_base
import comfy.supported_models
import torch
from harness import CONTEXT_DIM, gen

from family_cases.common import case, cross_expect


def kandinsky_case(image):
    name = "Kandinsky5Image" if image else "Kandinsky5"
    if not hasattr(comfy.model_base, name):
        return None
    config = {
        "image_model": "kandinsky5",
        "in_visual_dim": 16,
        "out_visual_dim": 16,
        "in_text_dim": CONTEXT_DIM,
        "in_text_dim2": 32,
        "time_dim": 32,
        "model_dim": 64,
        "ff_dim": 128,
        "visual_embed_dim": 64 if image else 132,  # video: latent, start image and mask channels, 2x2 patches
        "num_text_blocks": 1,
        "num_visual_blocks": 2,
        "axes_dims": [4, 6, 6],
    }
    model_config = getattr(comfy.supported_models, name)(config)

    def cond(seed, n):
        g = gen(seed)
        return [[torch.randn(1, n, CONTEXT_DIM, generator=g), {"pooled_output": torch.randn(1, 32, generator=g)}]]

    latent = torch.zeros(1, 16, 8, 8) if image else torch.zeros(1, 16, 2, 8, 8)
    expect = cross_expect(16 if image else 32)
    return case(model_config, getattr(comfy.model_base, name), latent, cond, expect, ["block"])


CASES = {
    "kandinsky5": functools.partial(kandinsky_case, False),
    "kandinsky5_image": functools.partial(kandinsky_case, True),
}
