"""Cosmos Predict2, Anima (the Cosmos DiT over an LLM adapter) and Cosmos Predict1: cross-attention."""

from __future__ import annotations

import functools

import comfy.model_base
import comfy.supported_models
import torch
from harness import CONTEXT_DIM, gen

from family_cases.common import case, cross_expect, plain_prompt, requires

# The tiny Cosmos DiT's latent bounds and patching, shared by Predict2, Anima and Predict1.
COSMOS_TINY = {
    "max_img_h": 16,
    "max_img_w": 16,
    "max_frames": 4,
    "in_channels": 16,
    "out_channels": 16,
    "patch_spatial": 2,
    "patch_temporal": 1,
}


def cosmos_case(anima):
    config = {
        "image_model": "anima" if anima else "cosmos_predict2",
        **COSMOS_TINY,
        "model_channels": 64,
        "num_blocks": 2,
        "num_heads": 4,
        "crossattn_emb_channels": CONTEXT_DIM,
        "pos_emb_cls": "rope3d",
        "use_adaln_lora": True,
        "adaln_lora_dim": 16,
    }
    if anima:
        config["crossattn_emb_channels"] = 1024  # the width of its LLM adapter
    model_config = (comfy.supported_models.Anima if anima else comfy.supported_models.CosmosT2IPredict2)(config)

    def cond(seed, n):
        g = gen(seed)
        if not anima:
            return [[torch.randn(1, n, CONTEXT_DIM, generator=g), {}]]
        # T5 token ids and Qwen3 hidden states, as ComfyUI's Anima text encoder gives them
        ids = torch.randint(0, 100, (n,), generator=g)
        extra = {"t5xxl_ids": ids, "t5xxl_weights": torch.ones(n)}
        return [[torch.randn(1, 7, 1024, generator=g), extra]]

    def anima_expect(n_query, n_key, n_text):
        if n_key != 512 or n_query < 16:
            return None
        return slice(0, n_text), slice(0, n_query)

    latent = torch.zeros(1, 16, 1, 8, 8)
    model_class = comfy.model_base.Anima if anima else comfy.model_base.CosmosPredict2
    expect = anima_expect if anima else cross_expect(16)
    return case(model_config, model_class, latent, cond, expect, ["block"])


def cosmos_predict1_case():
    config = {
        "image_model": "cosmos",
        **COSMOS_TINY,
        "concat_padding_mask": True,
        "block_config": "FA-CA-MLP",  # as ComfyUI's model detection sets it
        "model_channels": 64,
        "num_blocks": 2,
        "num_heads": 4,
        "crossattn_emb_channels": CONTEXT_DIM,
        "pos_emb_cls": "rope3d",
        "block_x_format": "THWBD",
        "affline_emb_norm": True,
        "use_adaln_lora": True,
        "adaln_lora_dim": 16,
        "extra_per_block_abs_pos_emb": True,
        "extra_per_block_abs_pos_emb_type": "learnable",
    }
    model_config = comfy.supported_models.CosmosT2V(config)

    latent = torch.zeros(1, 16, 1, 8, 8)
    model_class = comfy.model_base.CosmosVideo
    return case(model_config, model_class, latent, plain_prompt, cross_expect(16), ["block"])


CASES = {
    "cosmos_predict2": requires("CosmosPredict2")(functools.partial(cosmos_case, False)),
    "anima": requires("Anima")(functools.partial(cosmos_case, True)),
    "cosmos_predict1": cosmos_predict1_case,
}
