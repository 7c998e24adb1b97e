"""Krea2: single-stream blocks, text first."""

from __future__ import annotations

import comfy.model_base
import comfy.supported_models
import torch
from harness import CONTEXT_DIM, gen

from family_cases.common import case, joint_expect, requires

TEXT_LAYERS = 2  # the text encoder's layers Krea2 reads, stacked per token


@requires("Krea2")
def krea2_case():
    config = {
        "image_model": "krea2",
        "features": 64,
        "tdim": 32,
        "txtdim": CONTEXT_DIM,
        "heads": 4,
        "kvheads": 2,  # grouped k/v heads, repeated by the model before attention
        "multiplier": 2,
        "layers": 2,
        "patch": 2,
        "channels": 16,
        "txtlayers": TEXT_LAYERS,
        "txtheads": 4,
        "txtkvheads": 4,
    }
    model_config = comfy.supported_models.Krea2(config)

    def cond(seed, n):  # the encoder's layer stack, flattened per token as ComfyUI's Krea2 text encoder gives it
        return [[torch.randn(1, n, TEXT_LAYERS * CONTEXT_DIM, generator=gen(seed)), {}]]

    return case(model_config, comfy.model_base.Krea2, torch.zeros(1, 16, 1, 8, 8), cond, joint_expect(), ["single"])


CASES = {
    "krea2": krea2_case,
}
