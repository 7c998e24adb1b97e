"""Flux.1, Flux.2, Chroma, Chroma Radiance and LongCat-Image: joint attention, text first."""

from __future__ import annotations

import functools

import comfy.model_base
import comfy.supported_models
import torch
from harness import CONTEXT_DIM, gen

from family_cases.common import case, fields_of, has, joint_expect, plain_prompt, requires

# The tiny double- and single-stream transformer of the Flux-like models (Flux, Chroma; HunyuanVideo's blocks).
STREAMS = {"hidden_size": 64, "mlp_ratio": 2.0, "num_heads": 4, "depth": 2, "depth_single_blocks": 2}
FLUX_TINY = {
    "in_channels": 16,
    "out_channels": 16,
    "context_in_dim": CONTEXT_DIM,
    **STREAMS,
    "axes_dim": [4, 6, 6],
    "theta": 10000,
    "patch_size": 2,
    "qkv_bias": True,
}


def flux_config(extra, params_class):
    config = {**FLUX_TINY, "txt_ids_dims": [], **extra}
    known = fields_of(params_class) | {"image_model"}
    return {k: v for k, v in config.items() if k in known}


def flux_case(flux2):
    import comfy.ldm.flux.model as flux

    if flux2 and not hasattr(comfy.model_base, "Flux2"):
        return None
    image_model = "flux2" if flux2 else "flux"
    config = flux_config({"image_model": image_model, "guidance_embed": True, "vec_in_dim": 32}, flux.FluxParams)
    model_config = (comfy.supported_models.Flux2 if flux2 else comfy.supported_models.Flux)(config)
    model_class = comfy.model_base.Flux2 if flux2 else comfy.model_base.Flux

    def cond(seed, n):
        g = gen(seed)
        return [
            [
                torch.randn(1, n, CONTEXT_DIM, generator=g),
                {"pooled_output": torch.randn(1, 32, generator=g), "guidance": 3.5},
            ]
        ]

    padded = 512 if flux2 else None

    def expect(n_query, n_key, n_text):
        length = padded or n_text
        if n_query != n_key or n_query < length + 16:
            return None
        return slice(length - n_text, length), slice(length, length + 16)

    return case(model_config, model_class, torch.zeros(1, 16, 8, 8), cond, expect, ["double", "single"])


def chroma_case(radiance):
    if radiance:
        if not has("comfy.ldm.chroma_radiance.model", "ChromaRadianceParams"):
            return None
        import comfy.ldm.chroma_radiance.model as module

        params = module.ChromaRadianceParams
        extra = {
            "image_model": "chroma_radiance",
            "in_channels": 3,
            "out_channels": 3,
            "patch_size": 4,
            "nerf_hidden_size": 16,
            "nerf_mlp_ratio": 2,
            "nerf_depth": 1,
            "nerf_max_freqs": 4,
            "nerf_tile_size": 0,
            "nerf_final_head_type": "linear",
            "nerf_embedder_dtype": None,
            "use_x0": False,
            "use_sequential_txt_ids": False,
        }
        latent, model_config_class, model_class = (
            torch.zeros(1, 3, 16, 16),
            comfy.supported_models.ChromaRadiance,
            comfy.model_base.ChromaRadiance,
        )
    else:
        import comfy.ldm.chroma.model as module

        params = module.ChromaParams
        extra = {"image_model": "chroma", "in_channels": 64, "out_channels": 64}
        latent, model_config_class, model_class = (
            torch.zeros(1, 16, 8, 8),
            comfy.supported_models.Chroma,
            comfy.model_base.Chroma,
        )
    extra.update({"in_dim": 64, "out_dim": 64, "hidden_dim": 64, "n_layers": 1, "vec_in_dim": 32})
    config = flux_config(extra, params)
    for name in fields_of(params) - set(config):  # fields of other versions, with harmless values
        config[name] = False

    def cond(seed, n):
        g = gen(seed)  # (ComfyUI 0.3.64's Chroma reads a pooled output it does not use)
        return [[torch.randn(1, n, CONTEXT_DIM, generator=g), {"pooled_output": torch.randn(1, 32, generator=g)}]]

    def expect(n_query, n_key, n_text):
        if n_query != n_key or n_query < n_text + 16:
            return None
        return slice(0, n_text), slice(n_text, n_text + 16)

    return case(model_config_class(config), model_class, latent, cond, expect, ["double", "single"])


@requires("LongCatImage")
def longcat_case():
    import comfy.ldm.flux.model as flux

    extra = {"image_model": "flux", "guidance_embed": False, "vec_in_dim": None, "txt_ids_dims": [1, 2]}
    model_config = comfy.supported_models.LongCatImage(flux_config(extra, flux.FluxParams) | {"txt_ids_dims": [1, 2]})

    expect = joint_expect()
    return case(
        model_config,
        comfy.model_base.LongCatImage,
        torch.zeros(1, 16, 8, 8),
        plain_prompt,
        expect,
        ["double", "single"],
    )


CASES = {
    "flux": functools.partial(flux_case, False),
    "flux2": functools.partial(flux_case, True),
    "chroma_radiance": functools.partial(chroma_case, True),
    "longcat": longcat_case,
}
