"""HunyuanVideo (+ I2V, SkyReels), HunyuanVideo 1.5 (+ SR), HunyuanImage 2.1 (+ refiner)."""

from __future__ import annotations

import functools
import types

import comfy.model_base
import comfy.supported_models
import torch
from harness import CONTEXT_DIM, gen

from family_cases.common import case, fields_of, joint_expect
from family_cases.flux import STREAMS

# variant -> (ComfyUI class, in_channels, 3-D latent, byT5 glyph tokens, SigLIP vision tokens)
HUNYUAN_VARIANTS = {
    "video": ("HunyuanVideo", 16, True, 0, 0),
    "video_i2v": ("HunyuanVideoI2V", 33, True, 0, 0),  # [noise | start image | inverted mask] channels
    "skyreels_i2v": ("HunyuanVideoSkyreelsI2V", 32, True, 0, 0),
    "video15": ("HunyuanVideo15", 33, True, 3, 7),
    "video15_sr": ("HunyuanVideo15_SR_Distilled", 50, True, 3, 7),  # + the low-resolution video and its mask
    "image21": ("HunyuanImage21", 16, False, 3, 0),
    "image21_refiner": ("HunyuanImage21Refiner", 32, True, 0, 0),  # patch 1x1x1 over a 3-D latent
}


def hunyuan_case(variant):
    import comfy.ldm.hunyuan_video.model as hunyuan

    model_base_name, in_channels, video, glyphs, vision = HUNYUAN_VARIANTS[variant]
    if not hasattr(comfy.model_base, model_base_name):
        return None
    known = fields_of(hunyuan.HunyuanVideoParams)
    version1 = variant in ("video", "video_i2v", "skyreels_i2v")
    config = {
        "image_model": "hunyuan_video",
        "in_channels": in_channels,
        "out_channels": 16,
        "vec_in_dim": 32 if version1 else None,
        "context_in_dim": CONTEXT_DIM,
        **STREAMS,
        "axes_dim": [4, 6, 6] if video else [8, 8],
        "theta": 256,
        "patch_size": [1, 1, 1] if variant == "image21_refiner" else [1, 2, 2] if video else [2, 2],
        "qkv_bias": True,
        "guidance_embed": version1,
        "byt5": glyphs > 0,
        "meanflow": False,
        "use_cond_type_embedding": vision > 0,
        "vision_in_dim": 32 if vision else None,
        "meanflow_sum": False,
    }
    if not version1 and "byt5" not in known:
        return None
    config = {k: v for k, v in config.items() if k in known | {"image_model"}}
    model_config_class = getattr(comfy.supported_models, model_base_name)

    def cond(seed, n):
        g = gen(seed)
        extra = {"pooled_output": torch.randn(1, 32, generator=g), "guidance": 6.0}
        if version1:  # (ComfyUI's mask handling does not allow for byT5 tokens)
            mask = torch.ones(1, n, dtype=torch.long)
            mask[:, -2:] = 0  # the LLM's padding, masked by the model
            extra["attention_mask"] = mask
        if glyphs:
            extra["conditioning_byt5small"] = torch.randn(1, glyphs, 1472, generator=g)
        if vision:
            extra["clip_vision_output"] = types.SimpleNamespace(
                last_hidden_state=torch.randn(1, vision, 32, generator=g)
            )
        return [[torch.randn(1, n, CONTEXT_DIM, generator=g), extra]]

    if variant == "image21_refiner":
        latent = torch.zeros(1, 16, 1, 4, 4)
    else:
        latent = torch.zeros(1, 16, 1, 8, 8) if video else torch.zeros(1, 16, 8, 8)
    expect = joint_expect(before_text=vision, extra_text=glyphs)
    model_class = getattr(comfy.model_base, model_base_name)
    return case(model_config_class(config), model_class, latent, cond, expect, ["double", "single"])


CASES = {
    "hunyuan_video": functools.partial(hunyuan_case, "video"),
    "hunyuan_video15": functools.partial(hunyuan_case, "video15"),
    "hunyuan_image21": functools.partial(hunyuan_case, "image21"),
    "hunyuan_video_i2v": functools.partial(hunyuan_case, "video_i2v"),
    "hunyuan_skyreels_i2v": functools.partial(hunyuan_case, "skyreels_i2v"),
    "hunyuan_video15_sr": functools.partial(hunyuan_case, "video15_sr"),
    "hunyuan_image21_refiner": functools.partial(hunyuan_case, "image21_refiner"),
}
