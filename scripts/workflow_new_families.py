"""The example workflows of the model families the paper did not try, each following ComfyUI's official template:
Z-Image Turbo, Flux.2 Klein, Qwen-Image, Wan 2.2 and HunyuanVideo 1.5."""

from __future__ import annotations

from workflow_graph import Graph
from workflow_parts import (
    SEED,
    conditioning,
    custom_sampler,
    ksampler,
    new_family_note,
    pladis_node,
    save_image,
    save_video,
)
from workflow_texts import CROSS, JOINT, PROMPT, VIDEO_PROMPT, WAN_NEGATIVE


def shifted_ksampler(graph: Graph, unet, shift, inputs: tuple, vae, settings: tuple, prefix: str):
    """UNet -> model-sampling shift -> PLADIS -> KSampler -> save, for the image families with one KSampler.

    inputs are the positive, negative and latent nodes; settings are KSampler's steps, CFG, sampler and scheduler.
    Returns the PLADIS node, the sampler and the output stage."""
    positive, negative, latent = inputs
    pladis = pladis_node(graph, scale=1.5)
    graph.connect(unet, "MODEL", shift, "model")
    graph.connect(shift, "MODEL", pladis, "model")
    common = (conditioning(positive), conditioning(negative), (latent, "LATENT"))
    sampler = ksampler(graph, (pladis, "MODEL"), *common, *settings)
    output = save_image(graph, (sampler, "LATENT"), (vae, "VAE"), prefix)
    return pladis, sampler, output


def z_image_turbo() -> dict:
    """Follows the official "Text to Image (Z-Image-Turbo)" template (image_z_image_turbo.json)."""
    g = Graph("image_z_image_turbo.json")
    unet = g.add("UNETLoader", ["z_image_turbo_bf16.safetensors", "default"], size=(330, 110))
    clip = g.add("CLIPLoader", ["qwen_3_4b.safetensors", "lumina2", "default"], size=(330, 110))
    vae = g.add("VAELoader", ["ae.safetensors"], size=(330, 60))
    shift = g.add("ModelSamplingAuraFlow", [3.0], size=(300, 60))
    positive = g.add("CLIPTextEncode", [PROMPT], size=(400, 170), title="Prompt")
    negative = g.add("ConditioningZeroOut", size=(260, 30))
    latent = g.add("EmptySD3LatentImage", [1024, 1024, 1], size=(320, 110))
    g.connect(clip, "CLIP", positive, "clip")
    g.connect(positive, "CONDITIONING", negative, "conditioning")
    settings = (8, 1.0, "res_multistep", "simple")
    pladis, sampler, output = shifted_ksampler(
        g, unet, shift, (positive, negative, latent), vae, settings, "PLADIS_z_image"
    )
    note = new_family_note(
        g, model="Z-Image Turbo, 8 steps, CFG 1", how=JOINT + " Z-Image pads the caption with filler "
        "tokens; those are not text and keep their dense weights.",
        order="UNETLoader -> ModelSamplingAuraFlow -> PLADIS Model Patch -> KSampler",
        source="Z-Image is guidance-distilled: at CFG 1 the negative prompt does nothing, PLADIS still acts",
        sampling="Sampler res_multistep / simple, 8 steps, CFG 1.0, shift 3, as the official template.",
        template="Text to Image (Z-Image-Turbo)", template_file="image_z_image_turbo.json",
    )  # fmt: skip
    return g.staged([unet, clip, vae, shift], [positive, negative], [pladis, note], [latent, sampler], output)


def flux2_klein() -> dict:
    """Follows the distilled subgraph of the official "Text to Image (Flux.2 Klein 4B)" template
    (image_flux2_klein_text_to_image.json)."""
    g = Graph("image_flux2_klein_text_to_image.json")
    unet = g.add("UNETLoader", ["flux-2-klein-4b.safetensors", "default"], size=(330, 110))
    clip = g.add("CLIPLoader", ["qwen_3_4b.safetensors", "flux2", "default"], size=(330, 110))
    vae = g.add("VAELoader", ["flux2-vae.safetensors"], size=(330, 60))
    positive = g.add("CLIPTextEncode", [PROMPT], size=(400, 170), title="Prompt")
    negative = g.add("ConditioningZeroOut", size=(260, 30))
    latent = g.add("EmptyFlux2LatentImage", [1024, 1024, 1], size=(320, 110))
    sigmas = g.add("Flux2Scheduler", [4, 1024, 1024], size=(320, 110))
    pladis = pladis_node(g, scale=1.5)
    guider = g.add("CFGGuider", [1.0], size=(300, 100))
    g.connect(clip, "CLIP", positive, "clip")
    g.connect(positive, "CONDITIONING", negative, "conditioning")
    g.connect(unet, "MODEL", pladis, "model")
    g.connect(pladis, "MODEL", guider, "model")
    g.connect(positive, "CONDITIONING", guider, "positive")
    g.connect(negative, "CONDITIONING", guider, "negative")
    sampling = custom_sampler(g, guider, sigmas, latent)
    output = save_image(g, (sampling[-1], "output"), (vae, "VAE"), "PLADIS_flux2_klein")
    note = new_family_note(
        g, model="Flux.2 Klein 4B (distilled), 4 steps, CFG 1", how=JOINT + " ComfyUI left-pads "
        "Flux.2's text with zero tokens; those are filler, not text.",
        order="UNETLoader -> PLADIS Model Patch -> CFGGuider -> SamplerCustomAdvanced",
        source="the PLADIS authors' follow-up (arXiv 2603.02531) applies a related sparse-vs-dense extrapolation "
        "to FLUX.2; its values are not PLADIS's λ",
        sampling="Flux2Scheduler 4 steps, euler, CFG 1.0 with a zeroed negative, as the official template.",
        template="Text to Image (Flux.2 Klein 4B Distilled)", template_file="image_flux2_klein_text_to_image.json",
    )  # fmt: skip
    return g.staged(
        [unet, clip, vae], [positive, negative], [pladis, note], [latent, sigmas, guider, *sampling], output
    )


def qwen_image() -> dict:
    """Follows the official "Text to Image (Qwen-Image)" template (image_qwen_image.json), without its optional
    Lightning LoRA."""
    g = Graph("image_qwen_image.json")
    unet = g.add("UNETLoader", ["qwen_image_fp8_e4m3fn.safetensors", "default"], size=(330, 110))
    clip = g.add("CLIPLoader", ["qwen_2.5_vl_7b_fp8_scaled.safetensors", "qwen_image", "default"])
    vae = g.add("VAELoader", ["qwen_image_vae.safetensors"], size=(330, 60))
    shift = g.add("ModelSamplingAuraFlow", [3.1], size=(300, 60))
    positive = g.add("CLIPTextEncode", [PROMPT], size=(400, 170), title="Positive prompt")
    negative = g.add("CLIPTextEncode", [""], size=(400, 100), title="Negative prompt")
    latent = g.add("EmptySD3LatentImage", [1328, 1328, 1], size=(320, 110))
    g.connect(clip, "CLIP", positive, "clip")
    g.connect(clip, "CLIP", negative, "clip")
    settings = (20, 4.0, "euler", "simple")
    pladis, sampler, output = shifted_ksampler(
        g, unet, shift, (positive, negative, latent), vae, settings, "PLADIS_qwen_image"
    )
    note = new_family_note(
        g, model="Qwen-Image", how=JOINT,
        order="UNETLoader -> ModelSamplingAuraFlow -> PLADIS Model Patch -> KSampler",
        source="the PLADIS authors' follow-up (arXiv 2603.02531) applies a related sparse-vs-dense extrapolation "
        "to Qwen-Image; its values are not PLADIS's λ",
        sampling="Sampler euler / simple, 20 steps, CFG 4.0, shift 3.1, 1328x1328, as the official template.",
        template="Text to Image (Qwen-Image)", template_file="image_qwen_image.json",
    )  # fmt: skip
    return g.staged([unet, clip, vae, shift], [positive, negative], [pladis, note], [latent, sampler], output)


def wan22_t2v() -> dict:
    """Follows the official "Text to Video (Wan 2.2)" 14B template (video_wan2_2_14B_t2v.json), without its
    optional 4-step LoRAs: a high-noise and a low-noise expert share the 20 steps."""
    g = Graph("video_wan2_2_14B_t2v.json")
    clip = g.add("CLIPLoader", ["umt5_xxl_fp8_e4m3fn_scaled.safetensors", "wan", "default"])
    vae = g.add("VAELoader", ["wan_2.1_vae.safetensors"], size=(330, 60))
    positive = g.add("CLIPTextEncode", [VIDEO_PROMPT], size=(400, 170), title="Positive prompt")
    negative = g.add("CLIPTextEncode", [WAN_NEGATIVE], size=(400, 150), title="Negative prompt")
    latent = g.add("EmptyHunyuanLatentVideo", [640, 640, 81, 1], size=(320, 130))
    g.connect(clip, "CLIP", positive, "clip")
    g.connect(clip, "CLIP", negative, "clip")
    models, patches, samplers = [], [], []
    for expert in ("high", "low"):
        first = expert == "high"
        name = f"wan2.2_t2v_{expert}_noise_14B_fp8_scaled.safetensors"
        unet = g.add("UNETLoader", [name, "default"], size=(330, 110), title=f"Load {expert}-noise expert")
        shift = g.add("ModelSamplingSD3", [5.0], size=(300, 60))
        pladis = pladis_node(g, scale=1.5)
        widgets = (
            ["enable", SEED, "fixed", 20, 3.5, "euler", "simple", 0, 10, "enable"]
            if first
            else ["disable", 0, "fixed", 20, 3.5, "euler", "simple", 10, 10000, "disable"]
        )
        sampler = g.add("KSamplerAdvanced", widgets, size=(320, 330), title=f"KSampler ({expert} noise)")
        g.connect(unet, "MODEL", shift, "model")
        g.connect(shift, "MODEL", pladis, "model")
        g.connect(pladis, "MODEL", sampler, "model")
        g.connect(positive, "CONDITIONING", sampler, "positive")
        g.connect(negative, "CONDITIONING", sampler, "negative")
        g.connect(*((samplers[-1], "LATENT") if samplers else (latent, "LATENT")), sampler, "latent_image")
        models += [unet, shift]
        patches.append(pladis)
        samplers.append(sampler)
    output = save_video(g, (samplers[-1], "LATENT"), (vae, "VAE"), 16, "video/PLADIS_wan22")
    note = new_family_note(
        g, model="Wan 2.2 14B, text to video", how=CROSS + " Both experts get the same PLADIS settings.",
        order="UNETLoader -> ModelSamplingSD3 -> PLADIS Model Patch -> KSamplerAdvanced, once per expert",
        source="the paper tried image models only",
        sampling="Each expert: euler / simple, 20 steps in all (high noise 0-10, low noise 10-20), CFG 3.5, shift 5; "
        "640x640, 81 frames at 16 fps, as the official template.",
        template="Text to Video (Wan 2.2)", template_file="video_wan2_2_14B_t2v.json",
    )  # fmt: skip
    return g.staged([*models, clip, vae], [positive, negative], [*patches, note], [latent, *samplers], output)


def hunyuan_video_15() -> dict:
    """Follows the official HunyuanVideo 1.5 720p text-to-video template (video_hunyuan_video_1.5_720p_t2v.json),
    without its optional EasyCache and super-resolution stages."""
    g = Graph("video_hunyuan_video_1.5_720p_t2v.json")
    unet = g.add("UNETLoader", ["hunyuanvideo1.5_720p_t2v_fp16.safetensors", "default"], size=(330, 110))
    clip = g.add(
        "DualCLIPLoader",
        ["qwen_2.5_vl_7b_fp8_scaled.safetensors", "byt5_small_glyphxl_fp16.safetensors", "hunyuan_video_15", "default"],
        size=(330, 150),
    )
    vae = g.add("VAELoader", ["hunyuanvideo15_vae_fp16.safetensors"], size=(330, 60))
    shift = g.add("ModelSamplingSD3", [7.0], size=(300, 60))
    positive = g.add("CLIPTextEncode", [VIDEO_PROMPT], size=(400, 170), title="Positive prompt")
    negative = g.add("CLIPTextEncode", [""], size=(400, 100), title="Negative prompt")
    latent = g.add("EmptyHunyuanVideo15Latent", [1280, 720, 121, 1], size=(320, 130))
    pladis = pladis_node(g, scale=1.5)
    guider = g.add("CFGGuider", [6.0], size=(300, 100))
    sigmas = g.add("BasicScheduler", ["simple", 20, 1.0], size=(300, 110))
    g.connect(clip, "CLIP", positive, "clip")
    g.connect(clip, "CLIP", negative, "clip")
    g.connect(unet, "MODEL", shift, "model")
    g.connect(shift, "MODEL", pladis, "model")
    g.connect(pladis, "MODEL", guider, "model")
    g.connect(positive, "CONDITIONING", guider, "positive")
    g.connect(negative, "CONDITIONING", guider, "negative")
    g.connect(unet, "MODEL", sigmas, "model")  # as in the template: the schedule of the unshifted model
    sampling = custom_sampler(g, guider, sigmas, latent)
    output = save_video(g, (sampling[-1], "output"), (vae, "VAE"), 24, "video/PLADIS_hunyuan_video_1.5")
    note = new_family_note(
        g, model="HunyuanVideo 1.5 720p, text to video", how=JOINT + " Vision-encoder tokens, where "
        "present, are not text.",
        order="UNETLoader -> ModelSamplingSD3 -> PLADIS Model Patch -> CFGGuider -> SamplerCustomAdvanced",
        source="the paper tried image models only",
        sampling="euler, simple schedule, 20 steps, CFG 6, shift 7; 1280x720, 121 frames at 24 fps, as the "
        "official template.",
        template="HunyuanVideo 1.5 720p text to video", template_file="video_hunyuan_video_1.5_720p_t2v.json",
    )  # fmt: skip
    return g.staged(
        [unet, clip, vae, shift], [positive, negative], [pladis, note], [latent, sigmas, guider, *sampling], output
    )
