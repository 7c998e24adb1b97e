"""The example workflows of the models the paper tried: SDXL (with and without PLADIS, Lightning, PAG, ControlNet)
and Flux.1 dev and schnell."""

from __future__ import annotations

from workflow_graph import Graph
from workflow_parts import conditioning, ksampler, pladis_node, save_image, sdxl_prompts
from workflow_texts import CONTROLNET_NOTE, FLUX_NOTE, LIGHTNING_NOTE, NEGATIVE, PAG_NOTE, PROMPT, SDXL_NOTE


def sdxl_ab() -> dict:
    g = Graph("image_sdxl_simple.json")
    loader = g.add("CheckpointLoaderSimple", ["sd_xl_base_1.0.safetensors"], size=(330, 100))
    positive, negative = sdxl_prompts(g, loader)
    latent = g.add("EmptyLatentImage", [1024, 1024, 1], size=(320, 110))
    pladis = pladis_node(g)
    g.connect(loader, "MODEL", pladis, "model")
    common = (conditioning(positive), conditioning(negative), (latent, "LATENT"))
    sampling = [latent]
    output = []
    for label, model, prefix in (("without", loader, "PLADIS_off"), ("with", pladis, "PLADIS_on")):
        sampler = ksampler(g, (model, "MODEL"), *common, 25, 6.0, "dpmpp_2m", "karras", f"KSampler ({label} PLADIS)")
        sampling.append(sampler)
        output += save_image(g, (sampler, "LATENT"), (loader, "VAE"), prefix, title=f"Save ({label} PLADIS)")
    return g.staged([loader], [positive, negative], [pladis, g.note(SDXL_NOTE)], sampling, output)


def sdxl_single(link_sources: tuple[str, ...], checkpoint: str, negative: str = NEGATIVE):
    """Loader -> PLADIS (-> extra patch) -> KSampler -> save, for the SDXL workflows with one sampler."""
    g = Graph(*link_sources)
    loader = g.add("CheckpointLoaderSimple", [checkpoint], size=(330, 100))
    positive, negative_node = sdxl_prompts(g, loader, negative)
    latent = g.add("EmptyLatentImage", [1024, 1024, 1], size=(320, 110))
    pladis = pladis_node(g)
    g.connect(loader, "MODEL", pladis, "model")
    return g, loader, positive, negative_node, latent, pladis


def sdxl_lightning() -> dict:
    g, loader, positive, negative, latent, pladis = sdxl_single(
        ("ByteDance/SDXL-Lightning",), "sdxl_lightning_4step.safetensors", negative=""
    )
    common = (conditioning(positive), conditioning(negative), (latent, "LATENT"))
    sampler = ksampler(g, (pladis, "MODEL"), *common, 4, 1.0, "euler", "sgm_uniform")
    output = save_image(g, (sampler, "LATENT"), (loader, "VAE"), "PLADIS_lightning")
    return g.staged([loader], [positive, negative], [pladis, g.note(LIGHTNING_NOTE)], [latent, sampler], output)


def sdxl_pag() -> dict:
    g, loader, positive, negative, latent, pladis = sdxl_single(
        ("image_sdxl_simple.json",), "sd_xl_base_1.0.safetensors"
    )
    pag = g.add("PerturbedAttentionGuidance", [3.0], size=(320, 60))
    g.connect(pladis, "MODEL", pag, "model")
    common = (conditioning(positive), conditioning(negative), (latent, "LATENT"))
    sampler = ksampler(g, (pag, "MODEL"), *common, 25, 5.0, "dpmpp_2m", "karras")
    output = save_image(g, (sampler, "LATENT"), (loader, "VAE"), "PLADIS_pag")
    return g.staged([loader], [positive, negative], [pladis, pag, g.note(PAG_NOTE)], [latent, sampler], output)


def sdxl_controlnet() -> dict:
    g, loader, positive, negative, latent, pladis = sdxl_single(
        ("image_sdxl_simple.json", "stabilityai/control-lora"), "sd_xl_base_1.0.safetensors"
    )
    control = g.add("ControlNetLoader", ["control-lora-canny-rank256.safetensors"], size=(380, 60))
    image = g.add("LoadImage", ["example.png", "image"], size=(320, 320))
    canny = g.add("Canny", [0.4, 0.8], size=(320, 90))
    apply = g.add("ControlNetApplyAdvanced", [0.8, 0.0, 1.0], size=(320, 190))
    g.connect(image, "IMAGE", canny, "image")
    g.connect(positive, "CONDITIONING", apply, "positive")
    g.connect(negative, "CONDITIONING", apply, "negative")
    g.connect(control, "CONTROL_NET", apply, "control_net")
    g.connect(canny, "IMAGE", apply, "image")
    common = ((apply, "positive"), (apply, "negative"), (latent, "LATENT"))
    sampler = ksampler(g, (pladis, "MODEL"), *common, 25, 6.0, "dpmpp_2m", "karras")
    output = save_image(g, (sampler, "LATENT"), (loader, "VAE"), "PLADIS_controlnet")
    return g.staged(
        [loader, control],
        [positive, negative],
        [pladis, g.note(CONTROLNET_NOTE)],
        [latent, sampler],
        output,
        controlnet=[image, canny, apply],
    )


def flux(variant: str) -> dict:
    dev = variant == "dev"
    g = Graph(f"flux_{variant}_full_text_to_image.json")
    unet = g.add("UNETLoader", [f"flux1-{variant}.safetensors", "default"], size=(330, 110))
    clip = g.add("DualCLIPLoader", ["clip_l.safetensors", "t5xxl_fp16.safetensors", "flux", "default"], size=(330, 150))
    vae = g.add("VAELoader", ["ae.safetensors"], size=(330, 80))
    positive = g.add("CLIPTextEncode", [PROMPT], size=(400, 170), title="Prompt")
    empty = g.add("CLIPTextEncode", [""], size=(400, 100), title="Negative (unused at CFG 1)")
    g.connect(clip, "CLIP", positive, "clip")
    g.connect(clip, "CLIP", empty, "clip")
    prompts, prompt = [positive, empty], positive
    if dev:
        prompt = g.add("FluxGuidance", [3.5], size=(300, 60))
        g.connect(positive, "CONDITIONING", prompt, "conditioning")
        prompts.append(prompt)
    latent = g.add("EmptySD3LatentImage", [1024, 1024, 1], size=(320, 110))
    pladis = pladis_node(g, scale=1.5)
    g.connect(unet, "MODEL", pladis, "model")
    common = (conditioning(prompt), conditioning(empty), (latent, "LATENT"))
    steps = 20 if dev else 4
    sampler = ksampler(g, (pladis, "MODEL"), *common, steps, 1.0, "euler", "simple")
    output = save_image(g, (sampler, "LATENT"), (vae, "VAE"), f"PLADIS_flux_{variant}")
    step_note = (
        "Flux dev: FluxGuidance 3.5, 20 steps, CFG 1."
        if dev
        else "Flux schnell: 4 steps, CFG 1 (schnell ignores guidance)."
    )
    return g.staged(
        [unet, clip, vae],
        prompts,
        [pladis, g.note(FLUX_NOTE.format(variant=variant, steps=step_note))],
        [latent, sampler],
        output,
    )
