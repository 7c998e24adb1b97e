"""PixelDiT T2I and PiD: the patch blocks, text first."""

from __future__ import annotations

import functools

import comfy.model_base
import comfy.supported_models
import torch
from harness import CONTEXT_DIM, gen

from family_cases.common import case, joint_expect


def pixeldit_case(pid=False):
    if not hasattr(comfy.model_base, "PiD" if pid else "PixelDiTT2I"):
        return None
    config = {
        "image_model": "pixeldit_t2i",
        "num_groups": 4,
        "hidden_size": 64,
        "pixel_hidden_size": 8,
        "pixel_attn_hidden_size": 32,
        "pixel_num_groups": 2,
        "patch_depth": 2,
        "pixel_depth": 1,
        "patch_size": 4,
        "txt_embed_dim": CONTEXT_DIM,
        "txt_max_length": 7,  # the negative prompt (9 tokens) is cut to it by the model
    }
    if pid:  # a 16-channel latent at 1/8 of the size the output will have
        config.update(image_model="pid", lq_hidden_dim=16, lq_num_res_blocks=1, lq_interval=1, sr_scale=1)
    model_config = (comfy.supported_models.PiD if pid else comfy.supported_models.PixelDiTT2I)(config)

    def cond(seed, n):
        g = gen(seed)
        extra = {}
        if pid:  # PiDConditioning's inputs: the low-quality latent (2x2 for 16x16 pixels) and its degrade sigma
            extra = {"lq_latent": torch.randn(1, 16, 2, 2, generator=g), "degrade_sigma": torch.tensor([0.1])}
        return [[torch.randn(1, n, CONTEXT_DIM, generator=g), extra]]

    def expect(n_query, n_key, n_text):
        return joint_expect()(n_query, n_key, min(n_text, 7))

    latent = torch.zeros(1, 3, 16, 16)  # pixel space, 4x4 patches: 16 image tokens
    model_class = comfy.model_base.PiD if pid else comfy.model_base.PixelDiTT2I
    return case(model_config, model_class, latent, cond, expect, ["double"])


CASES = {
    "pixeldit": pixeldit_case,
    "pixeldit_pid": functools.partial(pixeldit_case, True),
}
