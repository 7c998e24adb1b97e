"""Runs inside a real ComfyUI (its interpreter, its root as working directory) and prints one JSON line.

    python comfyui_family_runner.py PACK_DIR KIND

A tiny model of one DiT family, built from ComfyUI's own classes with random weights (fp32, CPU); the pack is
loaded by ComfyUI's loader, sampling is ComfyUI's. Every attention call is recorded; each call PLADIS changed
is compared with the float64 formula over the text keys this runner expects for the family (written here,
independently of the pack), every other call with dense attention. ``{"absent": true}`` when this ComfyUI has
no such family.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import os
import sys
import types

PACK_DIR, KIND = sys.argv[1], sys.argv[2]
sys.argv = [sys.argv[0], "--cpu"]
sys.path.insert(0, os.getcwd())
sys.path.insert(1, os.path.join(PACK_DIR, "tests"))
sys.path.insert(2, PACK_DIR)

import comfy.options  # noqa: E402

comfy.options.enable_args_parsing()

import comfy.model_base  # noqa: E402
import comfy.model_patcher  # noqa: E402
import comfy.sample  # noqa: E402
import comfy.supported_models  # noqa: E402
import torch  # noqa: E402
from oracles import joint_reference  # noqa: E402

import nodes  # noqa: E402
from pladis_core.joint_attention import additive_mask  # noqa: E402

CPU = torch.device("cpu")
TEXT, CONTEXT_DIM = 5, 48
NEGATIVE_TEXT = 9  # a longer negative prompt: with CFG, batch elements hold different amounts of filler


def gen(seed):
    return torch.Generator().manual_seed(seed)


def has(module, *names):
    try:
        mod = __import__(module, fromlist=["_"])
    except ImportError:
        return False
    return all(hasattr(mod, n) for n in names)


def fields_of(cls):
    return {f.name for f in dataclasses.fields(cls)}


def flux_config(extra, params_class):
    config = {
        "in_channels": 16,
        "out_channels": 16,
        "context_in_dim": CONTEXT_DIM,
        "hidden_size": 64,
        "mlp_ratio": 2.0,
        "num_heads": 4,
        "depth": 2,
        "depth_single_blocks": 2,
        "axes_dim": [4, 6, 6],
        "theta": 10000,
        "patch_size": 2,
        "qkv_bias": True,
        "txt_ids_dims": [],
        **extra,
    }
    known = fields_of(params_class) | {"image_model"}
    return {k: v for k, v in config.items() if k in known}


@dataclasses.dataclass
class Case:
    """A family's tiny model and inputs, and where its text keys and changed rows are (per batch element)."""

    config: object
    model_class: object
    latent: torch.Tensor
    positive: list
    negative: list
    expect: object  # (q length, k length, context length of that batch element) -> (text, image) or None
    parts: list
    batch_context: object = None  # batch element -> its context length, for batches of mixed prompts
    width_aware: bool = False  # expect also takes the queries' width (heads x head size)
    # name -> (the node's inputs changed, the expect of that run): other layer choices, checked at CFG 2
    other_runs: dict = dataclasses.field(default_factory=dict)


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

    return Case(
        model_config,
        model_class,
        torch.zeros(1, 16, 8, 8),
        cond(1, TEXT),
        cond(2, NEGATIVE_TEXT),
        expect,
        ["double", "single"],
    )


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

    return Case(
        model_config_class(config),
        model_class,
        latent,
        cond(1, TEXT),
        cond(2, NEGATIVE_TEXT),
        expect,
        ["double", "single"],
    )


def joint_expect(before_text=0, extra_text=0, image=16, before_image=0):
    """[before_text | extra text and the prompt's tokens | before_image | image] joint calls."""

    def expect(n_query, n_key, n_text):
        text_end = before_text + extra_text + n_text
        start = text_end + before_image
        if n_query != n_key or n_query < start + image:
            return None
        return slice(before_text, text_end), slice(start, start + image)

    return expect


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
        "hidden_size": 64,
        "mlp_ratio": 2.0,
        "num_heads": 4,
        "depth": 2,
        "depth_single_blocks": 2,
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
    return Case(
        model_config_class(config),
        model_class,
        latent,
        cond(1, TEXT),
        cond(2, NEGATIVE_TEXT),
        expect,
        ["double", "single"],
    )


def cross_expect(image):
    """A text cross-attention: all keys are the prompt's tokens, every query row (at least the latent's) changes."""

    def expect(n_query, n_key, n_text):
        if n_key != n_text or n_query < image:
            return None
        return slice(0, n_key), slice(0, n_query)

    return expect


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
        "dim": 64,
        "ffn_dim": 128,
        "freq_dim": 32,
        "text_dim": CONTEXT_DIM,
        "num_heads": 4,
        "num_layers": 2,
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
    return Case(model_config, model_class, latent, cond(1, TEXT), cond(2, NEGATIVE_TEXT), cross_expect(32), ["block"])


def lumina_case(zimage, pixel=False, omni=False):
    """Lumina 2, Z-Image, Z-Image pixel space; Omni: a reference image with its own text, SigLIP features and
    latent ([captions | SigLIP groups | images], each padded to 32)."""
    if zimage and not hasattr(comfy.supported_models, "ZImage"):
        return None
    if pixel and not hasattr(comfy.supported_models, "ZImagePixelSpace"):
        return None
    import inspect

    import comfy.ldm.lumina.model as lumina

    config = {
        "image_model": "lumina2",
        "patch_size": 2,
        "in_channels": 16,
        "dim": 64,
        "n_layers": 2,
        "n_refiner_layers": 1,
        "n_heads": 4,
        "n_kv_heads": 2,  # grouped k/v heads, repeated by the model before attention
        "multiple_of": 16,
        "ffn_dim_multiplier": 1.0,
        "qk_norm": True,
        "cap_feat_dim": CONTEXT_DIM,
        "axes_dims": [4, 6, 6],
        "axes_lens": [64, 64, 64],
    }
    if zimage:
        # (Z-Image's modulation assumes a width of at least 256)
        config.update(z_image_modulation=True, pad_tokens_multiple=32, dim=256, axes_dims=[16, 24, 24])
    if omni:
        config.update(siglip_feat_dim=24)
    known = set(inspect.signature(lumina.NextDiT.__init__).parameters)
    config = {k: v for k, v in config.items() if k in known | {"image_model"}}
    if pixel:  # RGB patches in, a small per-patch decoder out
        config.update(image_model="zimage_pixel", in_channels=3, decoder_hidden_size=32, decoder_num_res_blocks=1)
        model_config = comfy.supported_models.ZImagePixelSpace(config)
    else:
        model_config = (comfy.supported_models.ZImage if zimage else comfy.supported_models.Lumina2)(config)

    def cond(seed, n):  # (ComfyUI 0.3.64 reads the token count from the encoder's mask)
        extra = {"attention_mask": torch.ones(1, n, dtype=torch.long)}
        if omni:
            g = gen(seed + 10)
            vision = types.SimpleNamespace(
                image_sizes=[(3, 64, 64)], last_hidden_state=torch.randn(1, 16, 24, generator=g)
            )
            extra.update(
                reference_latents=[torch.randn(1, 16, 8, 8, generator=g)],
                reference_latents_text_embeds=[torch.randn(1, 4, CONTEXT_DIM, generator=g)],
                clip_vision_outputs=[vision],  # a 64x64 image: 4x4 SigLIP tokens
            )
        return [[torch.randn(1, n, CONTEXT_DIM, generator=gen(seed)), extra]]

    def expect(n_query, n_key, n_text):
        if omni:  # [ref text 4 | pads 28 | prompt | pads] [SigLIP 16 | pads 16] [pads 32] [ref image 16 | pads] [image]
            if n_query != n_key or n_query != 192:
                return None
            return torch.tensor([*range(4), *range(32, 32 + n_text)]), slice(160, 176)
        caption = 32 if zimage else n_text
        if n_query != n_key or n_query < caption + 16:
            return None
        return slice(0, n_text), slice(caption, caption + 16)

    latent = torch.zeros(1, 3 if pixel else 16, 8, 8)
    model_class = comfy.model_base.ZImagePixelSpace if pixel else comfy.model_base.Lumina2
    return Case(model_config, model_class, latent, cond(1, TEXT), cond(2, NEGATIVE_TEXT), expect, ["double"])


def cosmos_case(anima):
    if not hasattr(comfy.model_base, "Anima" if anima else "CosmosPredict2"):
        return None
    config = {
        "image_model": "anima" if anima else "cosmos_predict2",
        "max_img_h": 16,
        "max_img_w": 16,
        "max_frames": 4,
        "in_channels": 16,
        "out_channels": 16,
        "patch_spatial": 2,
        "patch_temporal": 1,
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
    return Case(model_config, model_class, latent, cond(1, TEXT), cond(2, NEGATIVE_TEXT), expect, ["block"])


def cosmos_predict1_case():
    config = {
        "image_model": "cosmos",
        "max_img_h": 16,
        "max_img_w": 16,
        "max_frames": 4,
        "in_channels": 16,
        "out_channels": 16,
        "patch_spatial": 2,
        "patch_temporal": 1,
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

    def cond(seed, n):
        return [[torch.randn(1, n, CONTEXT_DIM, generator=gen(seed)), {}]]

    latent = torch.zeros(1, 16, 1, 8, 8)
    model_class = comfy.model_base.CosmosVideo
    return Case(model_config, model_class, latent, cond(1, TEXT), cond(2, NEGATIVE_TEXT), cross_expect(16), ["block"])


def ltxv_case():
    config = {
        "image_model": "ltxv",
        "in_channels": 16,
        "cross_attention_dim": 64,
        "attention_head_dim": 16,
        "num_attention_heads": 4,
        "caption_channels": CONTEXT_DIM,
        "num_layers": 2,
    }
    model_config = comfy.supported_models.LTXV(config)

    def cond(seed, n):
        mask = torch.ones(1, n, dtype=torch.long)
        mask[:, -2:] = 0  # the prompt's padding, masked by the model
        return [[torch.randn(1, n, CONTEXT_DIM, generator=gen(seed)), {"attention_mask": mask}]]

    latent = torch.zeros(1, 16, 2, 4, 4)
    return Case(
        model_config, comfy.model_base.LTXV, latent, cond(1, TEXT), cond(2, NEGATIVE_TEXT), cross_expect(32), ["block"]
    )


def hidream_case(e1=False):
    """HiDream I1; E1: an edit image concatenated along the width (target and reference patches interleave)."""
    config = {
        "image_model": "hidream",
        "patch_size": 2,
        "in_channels": 16,
        "out_channels": 16,
        "num_layers": 1,
        "num_single_layers": 1,
        "attention_head_dim": 16,
        "num_attention_heads": 4,
        "caption_channels": [CONTEXT_DIM, 40],
        "text_emb_dim": 32,
        "num_routed_experts": 2,
        "num_activated_experts": 1,
        "axes_dims_rope": [8, 4, 4],
        "max_resolution": [16, 16],
        "llama_layers": [0, 1],
    }
    model_config = comfy.supported_models.HiDream(config)
    llama_tokens = 3

    def cond(seed, n):
        g = gen(seed)
        extra = {
            "pooled_output": torch.randn(1, 32, generator=g),
            "conditioning_llama3": torch.randn(1, 2, llama_tokens, 40, generator=g),
        }
        if e1:
            extra["concat_latent_image"] = torch.randn(1, 16, 8, 8, generator=gen(7))
        return [[torch.randn(1, n, CONTEXT_DIM, generator=g), extra]]

    image = 32 if e1 else 16  # 4 rows of 4 target patches (E1: then 4 reference patches, per row)
    target = torch.arange(image).view(4, -1)[:, :4].flatten()

    def expect(n_query, n_key, n_text):
        text_end = image + n_text + 2 * llama_tokens
        if n_query != n_key or n_query < text_end:
            return None
        return slice(image, text_end), (target if e1 else slice(0, 16))

    latent = torch.zeros(1, 16, 8, 8)
    return Case(
        model_config,
        comfy.model_base.HiDream,
        latent,
        cond(1, TEXT),
        cond(2, NEGATIVE_TEXT),
        expect,
        ["double", "single"],
    )


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
    return Case(
        model_config, getattr(comfy.model_base, name), latent, cond(1, TEXT), cond(2, NEGATIVE_TEXT), expect, ["block"]
    )


def auraflow_case():
    config = {
        "in_channels": 16,
        "out_channels": 16,
        "patch_size": 2,
        "dim": 64,
        "n_layers": 3,
        "n_double_layers": 2,
        "n_heads": 4,
        "global_conddim": 64,
        "cond_seq_dim": CONTEXT_DIM,
        "max_seq": 64,
    }
    model_config = comfy.supported_models.AuraFlow(config)

    def cond(seed, n):
        return [[torch.randn(1, n, CONTEXT_DIM, generator=gen(seed)), {}]]

    expect = joint_expect(before_text=8)
    return Case(
        model_config,
        comfy.model_base.AuraFlow,
        torch.zeros(1, 16, 8, 8),
        cond(1, TEXT),
        cond(2, NEGATIVE_TEXT),
        expect,
        ["double", "single"],
    )


def longcat_case():
    import comfy.ldm.flux.model as flux

    if not hasattr(comfy.model_base, "LongCatImage"):
        return None
    extra = {"image_model": "flux", "guidance_embed": False, "vec_in_dim": None, "txt_ids_dims": [1, 2]}
    model_config = comfy.supported_models.LongCatImage(flux_config(extra, flux.FluxParams) | {"txt_ids_dims": [1, 2]})

    def cond(seed, n):
        return [[torch.randn(1, n, CONTEXT_DIM, generator=gen(seed)), {}]]

    expect = joint_expect()
    return Case(
        model_config,
        comfy.model_base.LongCatImage,
        torch.zeros(1, 16, 8, 8),
        cond(1, TEXT),
        cond(2, NEGATIVE_TEXT),
        expect,
        ["double", "single"],
    )


def cogvideo_case():
    if not hasattr(comfy.model_base, "CogVideoX"):
        return None
    config = {
        "image_model": "cogvideox",
        "num_attention_heads": 4,
        "attention_head_dim": 16,
        "in_channels": 16,
        "out_channels": 16,
        "time_embed_dim": 32,
        "text_embed_dim": CONTEXT_DIM,
        "num_layers": 2,
        "sample_width": 8,
        "sample_height": 8,
        "sample_frames": 5,
        "patch_size": 2,
        "max_text_seq_length": 16,
        "use_rotary_positional_embeddings": True,
    }
    model_config = comfy.supported_models.CogVideoX_T2V(config)

    def cond(seed, n):
        return [[torch.randn(1, n, CONTEXT_DIM, generator=gen(seed)), {}]]

    latent = torch.zeros(1, 16, 2, 8, 8)
    expect = joint_expect(image=32)
    return Case(
        model_config, comfy.model_base.CogVideoX, latent, cond(1, TEXT), cond(2, NEGATIVE_TEXT), expect, ["block"]
    )


def mageflow_case():
    if not hasattr(comfy.model_base, "MageFlow"):
        return None
    config = {
        "image_model": "mage_flow",
        "in_channels": 128,
        "out_channels": 128,
        "num_layers": 2,
        "attention_head_dim": 16,
        "num_attention_heads": 4,
        "joint_attention_dim": CONTEXT_DIM,
        "axes_dims_rope": [4, 6, 6],
    }
    model_config = comfy.supported_models.MageFlow(config)

    def cond(seed, n):
        g = gen(seed)  # an edit: one reference latent, 9 tokens after the image's 16
        return [[torch.randn(1, n, CONTEXT_DIM, generator=g), {"reference_latents": [torch.randn(1, 128, 3, 3)]}]]

    return Case(
        model_config,
        comfy.model_base.MageFlow,
        torch.zeros(1, 128, 4, 4),
        cond(1, TEXT),
        cond(2, NEGATIVE_TEXT),
        joint_expect(),
        ["double"],
    )


def krea2_case():
    if not hasattr(comfy.model_base, "Krea2"):
        return None
    txtlayers = 2
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
        "txtlayers": txtlayers,
        "txtheads": 4,
        "txtkvheads": 4,
    }
    model_config = comfy.supported_models.Krea2(config)

    def cond(seed, n):  # the encoder's layer stack, flattened per token as ComfyUI's Krea2 text encoder gives it
        return [[torch.randn(1, n, txtlayers * CONTEXT_DIM, generator=gen(seed)), {}]]

    return Case(
        model_config,
        comfy.model_base.Krea2,
        torch.zeros(1, 16, 1, 8, 8),
        cond(1, TEXT),
        cond(2, NEGATIVE_TEXT),
        joint_expect(),
        ["single"],
    )


def omnigen2_case(boogu=False):
    name = "Boogu" if boogu else "Omnigen2"
    if not hasattr(comfy.model_base, name):
        return None
    config = {
        "image_model": "boogu" if boogu else "omnigen2",
        "patch_size": 2,
        "in_channels": 16,
        "hidden_size": 64,
        "num_layers": 2,
        "num_refiner_layers": 1,
        "num_attention_heads": 4,
        "num_kv_heads": 2,  # grouped k/v heads (Boogu's double-stream attention passes enable_gqa)
        "multiple_of": 16,
        "axes_dim_rope": [4, 6, 6],
        "axes_lens": [64, 64, 64],
    }
    if boogu:
        config.update(num_double_stream_layers=2, instruction_feat_dim=CONTEXT_DIM)
    else:
        config["text_feat_dim"] = CONTEXT_DIM
    model_config = getattr(comfy.supported_models, name)(config)
    references = 4  # one 4x4 reference latent: 4 tokens between the text and the target's 16

    def cond(seed, n):
        g = gen(seed)
        mask = torch.ones(1, n, dtype=torch.long)  # gives the model its num_tokens
        extra = {"attention_mask": mask, "reference_latents": [torch.randn(1, 16, 4, 4, generator=g)]}
        return [[torch.randn(1, n, CONTEXT_DIM, generator=g), extra]]

    def expect(n_query, n_key, n_text):
        start = n_text + references
        if n_query != n_key or n_query != start + 16:
            return None
        return slice(0, n_text), slice(start, start + 16)

    return Case(
        model_config,
        getattr(comfy.model_base, name),
        torch.zeros(1, 16, 8, 8),
        cond(1, TEXT),
        cond(2, NEGATIVE_TEXT),
        expect,
        ["double", "single"] if boogu else ["block"],
    )


def image_first_expect(image, between=0):
    """[image | between (reference latents) | the prompt's tokens] joint calls: the image rows change."""

    def expect(n_query, n_key, n_text):
        start = image + between
        if n_query != n_key or n_query != start + n_text:
            return None
        return slice(start, start + n_text), slice(0, image)

    return expect


def joyimage_case():
    if not hasattr(comfy.model_base, "JoyImage"):
        return None
    config = {
        "image_model": "joyimage",
        "patch_size": [1, 2, 2],
        "in_channels": 16,
        "hidden_size": 64,
        "num_attention_heads": 4,
        "text_dim": CONTEXT_DIM,
        "mlp_width_ratio": 2.0,
        "num_layers": 2,
    }
    model_config = comfy.supported_models.JoyImage(config)
    model_config.unet_config["rope_dim_list"] = [4, 6, 6]  # (the model config sets the real model's head split)

    def cond(seed, n):
        g = gen(seed)  # an edit: one reference latent, 4 tokens between the target's 16 and the text
        extra = {"reference_latents": [torch.randn(1, 16, 1, 4, 4, generator=g)]}
        return [[torch.randn(1, n, CONTEXT_DIM, generator=g), extra]]

    return Case(
        model_config,
        comfy.model_base.JoyImage,
        torch.zeros(1, 16, 1, 8, 8),
        cond(1, TEXT),
        cond(2, NEGATIVE_TEXT),
        image_first_expect(16, between=4),
        ["double"],
    )


def lens_case():
    if not hasattr(comfy.model_base, "Lens"):
        return None
    layers = 2
    config = {
        "image_model": "lens",
        "patch_size": 2,
        "in_channels": 128,
        "out_channels": 32,
        "num_layers": 2,
        "attention_head_dim": 16,
        "num_attention_heads": 4,
        "enc_hidden_dim": CONTEXT_DIM,
        "axes_dims_rope": [4, 6, 6],
        "selected_layer_index": list(range(layers)),
    }
    model_config = comfy.supported_models.Lens(config)

    def cond(seed, n):
        mask = torch.ones(1, n, dtype=torch.long)
        mask[:, -2:] = 0  # the prompt's padding, masked by the model
        return [[torch.randn(1, n, layers * CONTEXT_DIM, generator=gen(seed)), {"attention_mask": mask}]]

    return Case(
        model_config,
        comfy.model_base.Lens,
        torch.zeros(1, 128, 4, 4),
        cond(1, TEXT),
        cond(2, NEGATIVE_TEXT),
        image_first_expect(16),
        ["double"],
    )


def ideogram4_case():
    if not hasattr(comfy.model_base, "Ideogram4"):
        return None
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
    return Case(model_config, model_class, latent, cond(1, TEXT), cond(2, NEGATIVE_TEXT), expect, ["single"])


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
    return Case(model_config, model_class, latent, cond(1, TEXT), cond(2, NEGATIVE_TEXT), expect, ["double"])


def hidream_o1_case(edit=False):
    """Text-to-image; edit: a reference image (its ViT tokens spliced into the prompt, its patches appended)."""
    if not hasattr(comfy.model_base, "HiDreamO1"):
        return None
    import comfy.ldm.hidream_o1.model as o1

    text = {
        "vocab_size": o1.TMS_TOKEN_ID + 1,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 4,
        "head_dim": 16,
        "rope_dims": [4, 2, 2],
    }
    vision = {"hidden_size": 32, "num_heads": 2, "intermediate_size": 64, "depth": 1, "deepstack_visual_indexes": ()}
    config = {"image_model": "hidream_o1", "text_config_overrides": text, "vision_config_overrides": vision}
    model_config = comfy.supported_models.HiDreamO1(config)

    def cond(seed, n):
        # The prompt's token ids, ending with the timestep token, as ComfyUI's HiDream-O1 text encoder gives them
        g = gen(seed)
        ids = torch.cat([torch.randint(0, 1000, (1, n), generator=g), torch.tensor([[o1.TMS_TOKEN_ID]])], dim=1)
        extra = {"text_input_ids": ids}
        if edit:
            extra["reference_latents"] = [torch.rand(1, 64, 96, 3, generator=g)]  # an image, as ComfyUI loads one
        return [[torch.zeros(1, n + 1, 8), extra]]

    def expect(n_query, n_key, n_text):
        if not edit:
            # The generation pass: the timestep token's and the 16 image patches' rows over [prompt | tms | image]
            if n_query != 17 or n_key != n_text + 17:
                return None
            return slice(0, n_text), slice(0, n_query)
        # [3 prompt tokens | vision start, N ViT tokens, vision end | the rest of the prompt | tms | target | refs]
        vision = n_key - n_query - n_text  # the spliced tokens
        if n_query <= 17 or vision <= 2:
            return None
        text = torch.tensor([*range(3), *range(3 + vision, n_text + vision)])
        return text, slice(0, 17)  # the reference patches' rows stay dense

    latent = torch.zeros(1, 3, 128, 128)  # pixel space, 32x32 patches: 16 image tokens
    model_class = comfy.model_base.HiDreamO1
    return Case(model_config, model_class, latent, cond(1, TEXT), cond(2, NEGATIVE_TEXT), expect, ["block"])


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
    return Case(model_config, model_class, latent, cond(1, TEXT), cond(2, NEGATIVE_TEXT), expect, ["block"])


def mochi_case():
    if not hasattr(comfy.model_base, "GenmoMochi"):
        return None
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
    return Case(model_config, model_class, latent, cond(1, TEXT), cond(2, NEGATIVE_TEXT), expect, ["double"])


def minimax_h3_case(image_to_video=False):
    """[text | keyframe rows | audio | video]: the video rows change over the prompt's text-tagged keys."""
    if not hasattr(comfy.model_base, "MiniMaxH3"):
        return None
    from comfy.nested_tensor import NestedTensor

    config = {
        "image_model": "minimax_h3",
        "hidden_size": 64,
        "num_layers": 2,
        "token_refiner_num_layers": 1,
        "num_attention_heads": 2,
        "attention_head_dim": 32,
        "ffn_hidden_size": 128,
        "text_dim": CONTEXT_DIM,
        "timestep_input_dim": 32,
        "time_embed_hidden_size": 64,
        "time_embed_dim": 32,
        "rope_inv_freq_len": 4,  # rotary over 24 of the 32 head dims
    }
    model_config = comfy.supported_models.MiniMaxH3(config)
    # vision pads among the prompt's tokens (an image in the prompt): tag 0, not text
    vision = (1, 3) if image_to_video else None

    def cond(seed, n):
        extra = {}
        if vision:
            tags = torch.ones(n, dtype=torch.long)
            tags[vision[0] : vision[1]] = 0
            extra["minimax_token_tags"] = tags
            extra["minimax_keyframes"] = [{"resolved_frame_index": 0, "latent": torch.randn(1, 24, 1, 8, 8)}]
        return [[torch.randn(1, n, CONTEXT_DIM, generator=gen(seed)), extra]]

    keyframe, audio, video = (16 if image_to_video else 0), 6, 32

    def expect(n_query, n_key, n_text):
        start = n_text + keyframe + audio
        if n_query != n_key or n_query != start + video:
            return None
        if vision is None:
            return slice(0, n_text), slice(start, start + video)
        text = [i for i in range(n_text) if not vision[0] <= i < vision[1]]  # the text keys, in the model's order
        return torch.tensor(text), slice(start, start + video)

    # 2 latent frames of 8x8 (2x2 patches: 32 video tokens) and 3 stereo audio latent frames (6 tokens)
    latent = NestedTensor([torch.zeros(1, 24, 2, 8, 8), torch.zeros(1, 32, 2, 3)])
    model_class = comfy.model_base.MiniMaxH3
    return Case(model_config, model_class, latent, cond(1, TEXT), cond(2, NEGATIVE_TEXT), expect, ["single"])


LTX2_CONTEXT = 1024  # the embeddings connector appends learned registers to the prompt up to 1024 tokens


def ltx2_case(version):
    if not hasattr(comfy.model_base, "LTXAV"):
        return None
    from comfy.nested_tensor import NestedTensor

    config = {
        "image_model": "ltxav",
        "in_channels": 128,
        "audio_in_channels": 128,
        "cross_attention_dim": 64,
        "audio_cross_attention_dim": 32,
        "attention_head_dim": 16,
        "audio_attention_head_dim": 8,
        "num_attention_heads": 4,
        "audio_num_attention_heads": 4,
        "caption_channels": CONTEXT_DIM,
        "num_layers": 2,
        "connector_attention_head_dim": 12,
        "connector_num_attention_heads": 4,
        "connector_num_layers": 1,
    }
    context_dim = CONTEXT_DIM
    if version == "2.3":  # text projected per stream before the connectors; prompt-modulated cross-attention
        config.update(
            caption_proj_before_connector=True,
            caption_projection_first_linear=False,
            cross_attention_adaln=True,
            connector_attention_head_dim=16,
            audio_connector_attention_head_dim=8,
            audio_connector_num_attention_heads=4,
        )
        context_dim = 64 + 32  # the text encoder's dual projection: the video and the audio stream's widths
    model_config = comfy.supported_models.LTXAV(config)

    def cond(seed, n):  # the text encoder's output: the prompt's n tokens, before the connector
        return [[torch.randn(1, n, context_dim, generator=gen(seed)), {"unprocessed_ltxav_embeds": True}]]

    video_width, audio_width, video, audio = 64, 32, 32, 6

    def expect_for(parts):
        def expect(n_query, n_key, n_text, width):
            stream = {video_width: ("video", video), audio_width: ("audio", audio)}.get(width)
            if n_key != LTX2_CONTEXT or stream is None or stream[0] not in parts or n_query != stream[1]:
                return None
            return slice(0, n_text), slice(0, n_query)  # the prompt's keys; the registers after them are filler

        return expect

    # 2 frames of 4x4 video latents (32 tokens) and 6 audio latent frames (8 channels x 16 bins)
    latent = NestedTensor([torch.zeros(1, 128, 2, 4, 4), torch.zeros(1, 8, 6, 16)])
    return Case(
        model_config,
        comfy.model_base.LTXAV,
        latent,
        cond(1, TEXT),
        cond(2, NEGATIVE_TEXT),
        expect_for(("video",)),
        ["video"],
        width_aware=True,
        other_runs={"audio": ({"layers": "custom", "custom_layers": "video, audio"}, expect_for(("video", "audio")))},
    )


CASES = {
    "ltx2": functools.partial(ltx2_case, "2.0"),
    "ltx23": functools.partial(ltx2_case, "2.3"),
    "mochi": mochi_case,
    "cogvideox": cogvideo_case,
    "longcat": longcat_case,
    "auraflow": auraflow_case,
    "kandinsky5": functools.partial(kandinsky_case, False),
    "kandinsky5_image": functools.partial(kandinsky_case, True),
    "hidream": hidream_case,
    "hidream_e1": functools.partial(hidream_case, True),
    "ltxv": ltxv_case,
    "cosmos_predict2": functools.partial(cosmos_case, False),
    "anima": functools.partial(cosmos_case, True),
    "lumina2": functools.partial(lumina_case, False),
    "zimage": functools.partial(lumina_case, True),
    "zimage_pixel": functools.partial(lumina_case, True, pixel=True),
    "zimage_omni": functools.partial(lumina_case, True, omni=True),
    "wan_vace": functools.partial(wan_case, "vace"),
    "wan_camera": functools.partial(wan_case, "camera"),
    "wan_humo": functools.partial(wan_case, "humo"),
    "wan_s2v": functools.partial(wan_case, "s2v"),
    "wan_animate": functools.partial(wan_case, "animate"),
    "wan_scail": functools.partial(wan_case, "scail"),
    "wan_scail2": functools.partial(wan_case, "scail2"),
    "wan_animate2": functools.partial(wan_case, "animate2"),
    "wan_dancer": functools.partial(wan_case, "dancer"),
    "hunyuan_video": functools.partial(hunyuan_case, "video"),
    "hunyuan_video15": functools.partial(hunyuan_case, "video15"),
    "hunyuan_image21": functools.partial(hunyuan_case, "image21"),
    "hunyuan_video_i2v": functools.partial(hunyuan_case, "video_i2v"),
    "hunyuan_skyreels_i2v": functools.partial(hunyuan_case, "skyreels_i2v"),
    "hunyuan_video15_sr": functools.partial(hunyuan_case, "video15_sr"),
    "hunyuan_image21_refiner": functools.partial(hunyuan_case, "image21_refiner"),
    "flux2": functools.partial(flux_case, True),
    "flux": functools.partial(flux_case, False),
    "chroma_radiance": functools.partial(chroma_case, True),
    "mageflow": mageflow_case,
    "krea2": krea2_case,
    "omnigen2": omnigen2_case,
    "boogu": functools.partial(omnigen2_case, True),
    "joyimage": joyimage_case,
    "lens": lens_case,
    "ideogram4": ideogram4_case,
    "pixeldit": pixeldit_case,
    "pixeldit_pid": functools.partial(pixeldit_case, True),
    "cosmos_predict1": cosmos_predict1_case,
    "hidream_o1": hidream_o1_case,
    "hidream_o1_edit": functools.partial(hidream_o1_case, True),
    "stable_cascade_c": stage_c_case,
    "minimax_h3": minimax_h3_case,
    "minimax_h3_i2v": functools.partial(minimax_h3_case, True),
}


def build(case):
    case.config.set_inference_dtype(torch.float32, None)
    model = case.model_class(case.config, device=CPU)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.05)
        for b in model.diffusion_model.buffers():
            if b.is_floating_point():
                b.normal_(0, 0.05)
    return comfy.model_patcher.ModelPatcher(model, CPU, CPU)


def sample(case, model, cfg=1.0, steps=2):
    if case.latent.is_nested:  # several streams (LTX-2's video and audio)
        from comfy.nested_tensor import NestedTensor

        noise = NestedTensor([torch.randn(t.shape, generator=gen(3)) for t in case.latent.unbind()])
    else:
        noise = torch.randn(case.latent.shape, generator=gen(3))
    with torch.inference_mode():  # as ComfyUI samples
        return flat(
            comfy.sample.sample(
                model,
                noise,
                steps,
                cfg,
                "euler",
                "simple",
                case.positive,
                case.negative,
                case.latent,
                disable_pbar=True,
                seed=0,
            )
        )


def flat(t):
    """A sampled latent as one tensor (the streams of a nested one, flattened and concatenated)."""
    return torch.cat([u.flatten() for u in t.unbind()]) if t.is_nested else t


def pladis(model, **changes):
    node = nodes.NODE_CLASS_MAPPINGS["PLADISModelPatch"]
    inputs = dict(alpha=1.5, scale=2.0, start_percent=0.0, end_percent=1.0, layers="default", custom_layers="")
    output = node.execute(model=model, **{**inputs, **changes})
    return output.result[0], output.ui["pladis"][0]


def heads_view(t, heads, skip_reshape):
    if skip_reshape:
        return t
    if t.dim() == 4:
        return t.transpose(1, 2)
    return t.view(t.shape[0], t.shape[1], heads, -1).transpose(1, 2)


def record_calls(model):
    """Wraps the installed override (as the APPLY_MODEL wrapper hands it out): records each call and whether
    PLADIS changed it."""
    calls = []

    def spy_wrapper(executor, *args, **kwargs):
        def spy_options(transformer_options):
            inner = transformer_options["optimized_attention_override"]

            def spy(func, *a, **kw):
                forward = (kw.get("transformer_options") or {}).get("pladis_joint_forward")
                before = forward.patched_calls if forward else 0
                out = inner(func, *a, **kw)
                # Copies: some models (Wan Animate-2) pass views of buffers they overwrite in later blocks.
                a = tuple(t.clone() if isinstance(t, torch.Tensor) else t for t in a)
                changed = bool(forward and forward.patched_calls > before)
                calls.append((a, dict(kw), out.clone(), changed, context_lengths))
                return out

            return {**transformer_options, "optimized_attention_override": spy}

        transformer_options = kwargs.get("transformer_options", args[5] if len(args) > 5 else {})
        # Batch element b is the positive (0) or negative (1) prompt: cond_or_uncond says which.
        context_lengths = [NEGATIVE_TEXT if c else TEXT for c in transformer_options["cond_or_uncond"]]
        if "transformer_options" in kwargs:
            return executor(*args, **{**kwargs, "transformer_options": spy_options(transformer_options)})
        return executor(*args[:5], spy_options(transformer_options), *args[6:], **kwargs)

    model.add_wrapper_with_key("apply_model", "zz_runner_spy", spy_wrapper)  # runs inside PLADIS's wrapper
    return calls


def expected(case, q4, k4, n_text, expect=None):
    expect = expect or case.expect
    width = (q4.shape[1] * q4.shape[3],) if case.width_aware else ()
    return expect(q4.shape[2], k4.shape[2], n_text, *width)


def probe(case, patched, cfg):
    """The attention calls of one sampling step of ``patched``, recorded."""
    calls = record_calls(patched)
    sample(case, patched, cfg=cfg, steps=1)
    return calls


def oracle_errors(case, calls, scale=2.0, expect=None):
    """(changed calls, max error of changed calls vs the formula, max error of the others vs dense attention)."""
    worst_patched, worst_dense, changed = 0.0, 0.0, 0
    for args, kwargs, out, was_patched, context_lengths in calls:
        heads = args[3] if len(args) > 3 else kwargs["heads"]
        skip = kwargs.get("skip_reshape", False)
        q4, k4, v4 = (heads_view(t, heads, skip) for t in args[:3])
        if kwargs.get("enable_gqa") and k4.shape[1] != q4.shape[1]:  # grouped k/v heads, as the backends repeat them
            k4, v4 = (t.repeat_interleave(q4.shape[1] // t.shape[1], dim=1) for t in (k4, v4))
        n_query = q4.shape[2]
        out4 = out if kwargs.get("skip_output_reshape") else out.view(out.shape[0], n_query, heads, -1).transpose(1, 2)
        mask = args[4] if len(args) > 4 else kwargs.get("mask")
        bias = additive_mask(mask, torch.float64)
        changed += was_patched
        for b in range(q4.shape[0]):
            n_text = context_lengths[b * len(context_lengths) // q4.shape[0]]
            expectation = expected(case, q4, k4, n_text, expect)
            text, image = expectation if expectation else (slice(0, 1), slice(0, 1))  # (dense: no change anywhere)
            s = scale if was_patched else 0.0
            if was_patched and expectation is None:
                return changed, float("inf"), worst_dense  # PLADIS changed a call that is not text attention
            bias_b = None if bias is None else bias[b : b + 1] if bias.shape[0] > 1 else bias
            reference = joint_reference(q4[b : b + 1], k4[b : b + 1], v4[b : b + 1], text, image, 1.5, s, bias=bias_b)
            error = float((out4[b : b + 1].double() - reference).abs().max() / reference.abs().max())
            if was_patched:
                worst_patched = max(worst_patched, error)
            else:
                worst_dense = max(worst_dense, error)
    return changed, worst_patched, worst_dense


def missed_calls(case, calls):
    """Calls this runner expects to be text attention (every default block) that PLADIS left dense."""
    missed = 0
    for args, kwargs, _, was_patched, context_lengths in calls:
        heads = args[3] if len(args) > 3 else kwargs["heads"]
        q4, k4 = (heads_view(t, heads, kwargs.get("skip_reshape", False)) for t in args[:2])
        missed += not was_patched and expected(case, q4, k4, context_lengths[0]) is not None
    return missed


def finite(t):
    return bool(torch.isfinite(t).all())


def backend_order():
    """ComfyUI's ModelAttentionBackend node after PLADIS, and before it, on a tiny Flux."""
    try:
        from comfy_extras.nodes_model_advanced import ModelAttentionBackend
    except ImportError:
        return {"absent": True, "kind": KIND}
    report = {"kind": KIND, "absent": False, "loaded": asyncio.run(nodes.load_custom_node(PACK_DIR))}
    case = flux_case(False)
    model = build(case)

    def backend(m):
        return ModelAttentionBackend().patch(m, "pytorch attention")[0]

    after, before, alone = backend(pladis(model)[0]), pladis(backend(model))[0], backend(model)
    out_after, out_before, out_alone = (sample(case, m, cfg=2.0) for m in (after, before, alone))
    report["after_equals_before_max_diff"] = float((out_after - out_before).abs().max())
    report["pladis_acts_after"] = not torch.equal(out_after, out_alone)
    report["finite"] = finite(out_after)
    calls = probe(case, after, 1.0)
    report["after_changed_calls"] = sum(c[3] for c in calls)
    _, report["after_oracle_max_error"], report["after_dense_max_error"] = oracle_errors(case, calls)
    return report


def ltx2_compat():
    """LTX-2 given a prompt that already went through the connectors (the text encoder's compatibility mode):
    where the prompt ends is unknown, so PLADIS must leave the model unchanged and say so."""
    import logging

    case = ltx2_case("2.0")
    if case is None:
        return {"absent": True, "kind": KIND}
    report = {"kind": KIND, "absent": False, "loaded": asyncio.run(nodes.load_custom_node(PACK_DIR))}

    def connected(seed):  # 1024 connected tokens, both streams' halves, as the compatibility mode returns them
        return [[torch.randn(1, LTX2_CONTEXT, 2 * CONTEXT_DIM, generator=gen(seed)), {}]]

    case.positive, case.negative = connected(1), connected(2)
    model = build(case)
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logging.getLogger().addHandler(handler)
    patched = pladis(model)[0]
    calls = record_calls(patched)
    out = sample(case, patched, cfg=2.0)
    report["changed_calls"] = sum(c[3] for c in calls)
    report["equals_unpatched"] = torch.equal(out, sample(case, model, cfg=2.0))
    report["logged"] = sum("already through its embeddings connector" in m for m in records)
    return report


def refused_classes():
    """Which of the classes the pack refuses by name this ComfyUI has (a stale name would refuse nothing)."""
    import importlib.util

    path = os.path.join(PACK_DIR, "nodes", "families", "refused.py")  # (the pack's "nodes" is not ComfyUI's)
    spec = importlib.util.spec_from_file_location("pladis_refused", path)
    refused = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(refused)
    REFUSED, REFUSED_FAMILIES = refused.REFUSED, refused.REFUSED_FAMILIES

    ldm_classes = {
        name
        for module_name, module in list(sys.modules.items())
        if module_name.startswith("comfy.ldm.") and module is not None
        for name, value in vars(module).items()
        if isinstance(value, type)
    }
    import comfyui_version

    return {
        "absent": False,
        "comfyui": comfyui_version.__version__,
        "diffusion_classes": {name: name in ldm_classes for name in REFUSED},
        "families": {name: hasattr(comfy.supported_models, name) for name in REFUSED_FAMILIES},
    }


def main():
    if KIND == "refused_classes":
        print(json.dumps(refused_classes()))
        return
    if KIND == "backend_order":
        print(json.dumps(backend_order()))
        return
    if KIND == "ltx2_compat":
        print(json.dumps(ltx2_compat()))
        return
    case = CASES[KIND]()
    if case is None:
        print(json.dumps({"absent": True, "kind": KIND}))
        return
    import comfyui_version

    report = {"kind": KIND, "absent": False, "comfyui": comfyui_version.__version__}
    report["loaded"] = asyncio.run(nodes.load_custom_node(PACK_DIR))
    model = build(case)
    patched, info = pladis(model)
    report["summary"] = info["summary"]
    report["patched"], report["available"] = info["patched"], info["available"]
    report["family_class"] = type(model.model.diffusion_model).__name__

    base = sample(case, model)
    out = sample(case, patched)
    report["finite"], report["changes_output"] = finite(out), not torch.equal(out, base)
    report["cfg2_finite"] = finite(sample(case, patched, cfg=2.0))
    report["scale0_bit_identical"] = torch.equal(sample(case, pladis(model, scale=0.0)[0]), base)

    for name, cfg in (("cfg1", 1.0), ("cfg2", 2.0)):
        calls = probe(case, pladis(model)[0], cfg)
        changed, worst_patched, worst_dense = oracle_errors(case, calls)
        report[f"{name}_calls"], report[f"{name}_changed_calls"] = len(calls), changed
        report[f"{name}_oracle_max_error"], report[f"{name}_dense_max_error"] = worst_patched, worst_dense
        report[f"{name}_batched"] = max(len(c[4]) for c in calls) if calls else 0
        report[f"{name}_missed_calls"] = missed_calls(case, calls)
    for name, (changes, expect) in case.other_runs.items():
        patched, other_info = pladis(model, **changes)
        report[f"{name}_patched"] = other_info["patched"]
        calls = probe(case, patched, 2.0)
        changed, worst_patched, worst_dense = oracle_errors(case, calls, expect=expect)
        report[f"{name}_changed_calls"], report[f"{name}_oracle_max_error"] = changed, worst_patched
        report[f"{name}_dense_max_error"] = worst_dense
    report["other_runs"] = list(case.other_runs)
    report["parts"] = case.parts
    print(json.dumps(report))


if __name__ == "__main__":
    main()
