"""The Wan variants of ComfyUI's WanModel family: each block's text cross-attention, all query rows."""

from __future__ import annotations

import functools
import types

import comfy.model_base
import comfy.supported_models
import torch
from harness import CONTEXT_DIM, gen

from family_cases.common import case, cross_expect

# A tiny WanModel (two blocks of four heads), shared with comfyui_dit_runner.py's Wan 2.1.
WAN_TINY = {"dim": 64, "ffn_dim": 128, "freq_dim": 32, "text_dim": CONTEXT_DIM, "num_heads": 4, "num_layers": 2}


def wan_case(variant):
    model_base_name = {
        "vace": "WAN21_Vace",
        "camera": "WAN21_Camera",
        "humo": "WAN21_HuMo",
        "s2v": "WAN22_S2V",
        "animate": "WAN22_Animate",
        "scail": "WAN21_SCAIL",
        "scail2": "WAN21_SCAIL2",
        "animate2": "WAN_Animate2",
        "dancer": "WAN22_WanDancer",
    }[variant]
    if not hasattr(comfy.model_base, model_base_name):
        return None
    config = {
        "image_model": "wan2.1",
        "model_type": variant,
        **WAN_TINY,
        "in_dim": 16,
        "out_dim": 16,
    }
    if variant == "vace":
        config.update(vace_layers=1, vace_in_dim=96)
    if variant == "camera":
        config.update(in_dim=32, in_dim_control_adapter=24)
    if variant == "s2v":
        config.update(audio_dim=32, audio_inject_layers=[0, 1], cond_dim=16)
    if variant == "scail2":
        config.update(in_dim=20, mask_in_dim=28)  # the pose latents carry 4 mask channels; 28-channel SAM masks
    if variant == "animate2":
        config.update(in_dim=36)  # the pose branch embeds [pose | ones | pose] with the main patch embedding
    if variant == "dancer":
        config.update(in_dim=36, audio_inject_layers=[0, 1], music_dim=32, music_heads=2, music_latent_dim=32)
    model_config = getattr(comfy.supported_models, model_base_name)(config)

    def cond(seed, n):
        g = gen(seed)
        extra = {}
        if variant in (
            "camera",
            "animate",
            "scail",
            "scail2",
            "animate2",
            "dancer",
        ):  # an I2V model: the start image's CLIP-vision tokens, 257 keys of their own
            vision = torch.randn(1, 257, 1280, generator=g)
            extra["clip_vision_output"] = types.SimpleNamespace(penultimate_hidden_states=vision)
        if variant == "scail2":  # pose frames appended to the video tokens, SAM masks added to them
            extra["pose_video_latent"] = torch.randn(1, 16, 2, 8, 8, generator=g)
            extra["driving_mask_28ch"] = torch.randn(1, 2, 28, 8, 8, generator=g).gt(0).float()
        if variant == "animate2":  # the pose branch: one frame fewer than the generation tokens (reference slot)
            extra["pose_video_latent"] = torch.randn(1, 16, 1, 8, 8, generator=g)
        if variant == "dancer":  # the reference image's CLIP-vision tokens before the start image's; music
            vision = torch.randn(1, 257, 1280, generator=g)
            extra["clip_vision_output_ref"] = types.SimpleNamespace(penultimate_hidden_states=vision)
            extra["audio_embed"] = torch.randn(1, 8, 35, generator=g)
        return [[torch.randn(1, n, CONTEXT_DIM, generator=g), extra]]

    latent = torch.zeros(1, 16, 2, 8, 8)
    model_class = getattr(comfy.model_base, model_base_name)
    return case(model_config, model_class, latent, cond, cross_expect(32), ["block"])


CASES = {
    "wan_vace": functools.partial(wan_case, "vace"),
    "wan_camera": functools.partial(wan_case, "camera"),
    "wan_humo": functools.partial(wan_case, "humo"),
    "wan_s2v": functools.partial(wan_case, "s2v"),
    "wan_animate": functools.partial(wan_case, "animate"),
    "wan_scail": functools.partial(wan_case, "scail"),
    "wan_scail2": functools.partial(wan_case, "scail2"),
    "wan_animate2": functools.partial(wan_case, "animate2"),
    "wan_dancer": functools.partial(wan_case, "dancer"),
}
