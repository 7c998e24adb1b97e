"""Writes example_workflows/*.json (ComfyUI UI format, version 0.4) from the graphs described below.

    python scripts/build_example_workflows.py

Inputs, outputs and widget order come from tests/workflows/node_schemas.json (recorded from a real ComfyUI by
scripts/record_node_schemas.py), so that the files agree with the node definitions; the validation test checks
the written files, not this script.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from workflow_tools import WIDGET_TYPES, WORKFLOWS, input_specs, load_schemas  # noqa: E402

SCHEMAS = load_schemas()
PROMPT = (
    "a red glass teapot on a wooden table next to three yellow lemons and a blue ceramic cup, "
    "morning light through a window, photograph"
)
NEGATIVE = "blurry, low quality, watermark"
SEED = 123456789

SDXL_NOTE = """PLADIS Model Patch — SDXL

PLADIS sharpens how the image attends to the prompt (sparse attention, extrapolated): same model, same number of
steps, no training.

Settings (the paper's): alpha 1.5 (entmax15), scale 2.0, steps 0–100 %, layers = default (input and output
blocks; the middle block is left alone). Try scale 1.0–3.0; above ~3 it over-sharpens like a too-high CFG.

The two samplers share seed and settings: the left image is the plain model, the right one has PLADIS."""

LIGHTNING_NOTE = """PLADIS Model Patch — SDXL-Lightning, 4 steps, CFG 1

Guidance-distilled models run at CFG 1, where negative-prompt guidance does nothing; PLADIS still works because
it changes the attention inside the single model evaluation.

Settings: alpha 1.5, scale 2.0 (the paper's setting for Lightning, Turbo, DMD2 and Hyper-SDXL), all steps.
Sampler euler / sgm_uniform, 4 steps, CFG 1.0, as SDXL-Lightning's 4-step checkpoint expects."""

FLUX_NOTE = """PLADIS Model Patch — Flux {variant}

In Flux, text and image tokens attend jointly. PLADIS changes only how image tokens attend to the text tokens,
keeping the share of attention each image token gives to the text (the official Flux recipe), in every double
and single block (layers = custom with "double" or "single" restricts it).

Settings: alpha 1.5, scale 1.5 as a starting point (the paper used PLADIS on Flux; its per-model scale is not
published in what we could read; 1.0–2.0 is the range to explore). {steps}"""

PAG_NOTE = """PLADIS Model Patch + Perturbed-Attention Guidance — SDXL

PLADIS (cross-attention) and PAG (self-attention of the middle block) act on different layers and stack: the
paper reports its best SDXL scores with PAG + PLADIS.

Order: Load Checkpoint -> PLADIS Model Patch -> PerturbedAttentionGuidance -> KSampler (PAG may also come first).
Settings: PLADIS alpha 1.5, scale 2.0; PAG scale 3.0; CFG 5."""

CONTROLNET_NOTE = """PLADIS Model Patch + ControlNet — SDXL

ControlNet adds its residuals to the UNet; PLADIS changes the UNet's cross-attention. They compose.
Replace example.png with your image; Canny makes the edge map the ControlNet follows.

Settings: PLADIS alpha 1.5, scale 2.0; ControlNet strength 0.8."""

VIDEO_PROMPT = (
    "a red paper boat drifts down a narrow rain-soaked street, the camera follows it slowly at water level, "
    "neon shop signs reflect in the puddles, cinematic"
)
# Wan's own negative prompt, as the official Wan 2.2 templates use it.
WAN_NEGATIVE = (
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，JPEG压缩残留，丑陋的，"
    "残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，手指融合，静止不动的画面，杂乱的背景，"
    "三条腿，背景人很多，倒着走"
)

NEW_FAMILY_NOTE = "\n\n".join(
    (
        "PLADIS Model Patch — {model}",
        "{how}",
        "Order: {order}.{why}",
        "Settings: alpha 1.5, scale 1.5, steps 0–100 %, layers = default. Not in the paper: our extension of the "
        "method to this model family ({source}); 1.0–2.0 is the range to explore.",
        "{sampling}",
        'Graph and file names as in ComfyUI\'s official "{template}" template ({template_file}).',
    )
)

JOINT = (
    "Text and image tokens attend jointly here; PLADIS changes only how image tokens attend to the text tokens, "
    "keeping the share of attention each image token gives to the text."
)
CROSS = "This model has true text cross-attention: PLADIS replaces it in every block; self-attention is untouched."


class Graph:
    def __init__(self) -> None:
        self.nodes: list[dict] = []
        self.links: list[list] = []
        self.groups: list[dict] = []

    def add(self, kind: str, pos: tuple[int, int], widgets: list | None = None, size=None, title=None) -> dict:
        node = {
            "id": len(self.nodes) + 1,
            "type": kind,
            "pos": list(pos),
            "size": list(size or (320, 120)),
            "flags": {},
            "order": 0,
            "mode": 0,
            "inputs": [],
            "outputs": [],
            "properties": {"Node name for S&R": kind},
            "widgets_values": list(widgets or []),
        }
        if title:
            node["title"] = title
        if kind in SCHEMAS:
            schema = SCHEMAS[kind]
            for name, input_type, _, _ in input_specs(schema):
                if input_type not in WIDGET_TYPES:
                    node["inputs"].append({"name": name, "type": input_type, "link": None})
            names = schema.get("output_name") or schema["output"]
            for slot, (name, output_type) in enumerate(zip(names, schema["output"], strict=True)):
                node["outputs"].append({"name": name, "type": output_type, "links": [], "slot_index": slot})
        self.nodes.append(node)
        return node

    def note(self, text: str, pos: tuple[int, int], size=(420, 260)) -> dict:
        node = self.add("Note", pos, [text], size=size)
        node["color"], node["bgcolor"] = "#432", "#653"
        return node

    def connect(self, source: dict, output: str, target: dict, input_name: str) -> None:
        slot = next(i for i, o in enumerate(source["outputs"]) if o["name"] == output)
        target_slot = next(i for i, x in enumerate(target["inputs"]) if x["name"] == input_name)
        link_id = len(self.links) + 1
        kind = source["outputs"][slot]["type"]
        self.links.append([link_id, source["id"], slot, target["id"], target_slot, kind])
        source["outputs"][slot]["links"].append(link_id)
        target["inputs"][target_slot]["link"] = link_id

    def group(self, title: str, bounding: tuple[int, int, int, int], color: str) -> None:
        self.groups.append({"title": title, "bounding": list(bounding), "color": color, "font_size": 24, "flags": {}})

    def to_workflow(self) -> dict:
        self._order()
        return {
            "last_node_id": len(self.nodes),
            "last_link_id": len(self.links),
            "nodes": self.nodes,
            "links": self.links,
            "groups": self.groups,
            "config": {},
            "extra": {"ds": {"scale": 0.6, "offset": [40, 40]}},
            "version": 0.4,
        }

    def _order(self) -> None:
        """Execution order as the front end stores it: a topological order of the linked nodes."""
        incoming = {n["id"]: {link[1] for link in self.links if link[3] == n["id"]} for n in self.nodes}
        done: list[int] = []
        while len(done) < len(self.nodes):
            ready = [i for i, deps in incoming.items() if i not in done and deps <= set(done)]
            done.extend(sorted(ready))
        for node in self.nodes:
            node["order"] = done.index(node["id"])


def sdxl_front(graph: Graph, checkpoint: str, x: int = 0, negative: str = NEGATIVE):
    loader = graph.add("CheckpointLoaderSimple", (x, 120), [checkpoint], size=(330, 100))
    positive = graph.add("CLIPTextEncode", (x + 380, 40), [PROMPT], size=(400, 170), title="Positive prompt")
    negative_node = graph.add("CLIPTextEncode", (x + 380, 250), [negative], size=(400, 130), title="Negative prompt")
    latent = graph.add("EmptyLatentImage", (x + 380, 420), [1024, 1024, 1], size=(320, 110))
    graph.connect(loader, "CLIP", positive, "clip")
    graph.connect(loader, "CLIP", negative_node, "clip")
    return loader, positive, negative_node, latent


def pladis_node(graph: Graph, pos, scale: float = 2.0) -> dict:
    return graph.add("PLADISModelPatch", pos, [1.5, scale, 0.0, 1.0, "default", ""], size=(330, 220))


def sampler_chain(graph, model, positive, negative, latent, vae, pos, steps, cfg, sampler, scheduler, prefix):
    """KSampler -> VAEDecode -> SaveImage; model, positive, negative, latent, vae are (node, output name)."""
    x, y = pos
    ksampler = graph.add("KSampler", (x, y), [SEED, "fixed", steps, cfg, sampler, scheduler, 1.0], size=(320, 262))
    decode = graph.add("VAEDecode", (x + 360, y), size=(210, 50))
    save = graph.add("SaveImage", (x + 600, y), [prefix], size=(380, 420))
    for source, input_name in (
        (model, "model"),
        (positive, "positive"),
        (negative, "negative"),
        (latent, "latent_image"),
    ):
        graph.connect(*source, ksampler, input_name)
    graph.connect(ksampler, "LATENT", decode, "samples")
    graph.connect(*vae, decode, "vae")
    graph.connect(decode, "IMAGE", save, "images")
    return ksampler


def conditioning(node: dict) -> tuple[dict, str]:
    return node, "CONDITIONING"


def sdxl_ab() -> dict:
    g = Graph()
    loader, positive, negative, latent = sdxl_front(g, "sd_xl_base_1.0.safetensors")
    g.note(SDXL_NOTE, (0, 560), size=(760, 250))
    pladis = pladis_node(g, (860, 560))
    g.connect(loader, "MODEL", pladis, "model")
    common = (conditioning(positive), conditioning(negative), (latent, "LATENT"), (loader, "VAE"))
    sampler_chain(g, (loader, "MODEL"), *common, (860, 40), 25, 6.0, "dpmpp_2m", "karras", "PLADIS_off")
    sampler_chain(g, (pladis, "MODEL"), *common, (1240, 560), 25, 6.0, "dpmpp_2m", "karras", "PLADIS_on")
    g.group("without PLADIS", (840, -20, 1000, 500), "#3f789e")
    g.group("with PLADIS", (840, 500, 1400, 500), "#8A8")
    return g.to_workflow()


def sdxl_lightning() -> dict:
    g = Graph()
    loader, positive, negative, latent = sdxl_front(g, "sdxl_lightning_4step.safetensors", negative="")
    g.note(LIGHTNING_NOTE, (0, 560), size=(760, 230))
    pladis = pladis_node(g, (860, 40))
    g.connect(loader, "MODEL", pladis, "model")
    common = (conditioning(positive), conditioning(negative), (latent, "LATENT"), (loader, "VAE"))
    sampler_chain(g, (pladis, "MODEL"), *common, (1240, 40), 4, 1.0, "euler", "sgm_uniform", "PLADIS_lightning")
    return g.to_workflow()


def flux(variant: str) -> dict:
    g = Graph()
    dev = variant == "dev"
    unet = g.add("UNETLoader", (0, 40), [f"flux1-{variant}.safetensors", "default"], size=(330, 110))
    clip = g.add(
        "DualCLIPLoader", (0, 190), ["clip_l.safetensors", "t5xxl_fp16.safetensors", "flux", "default"], size=(330, 150)
    )
    vae = g.add("VAELoader", (0, 380), ["ae.safetensors"], size=(330, 80))
    positive = g.add("CLIPTextEncode", (380, 40), [PROMPT], size=(400, 170), title="Prompt")
    empty = g.add("CLIPTextEncode", (380, 250), [""], size=(400, 100), title="Negative (unused at CFG 1)")
    latent = g.add("EmptySD3LatentImage", (380, 400), [1024, 1024, 1], size=(320, 110))
    g.connect(clip, "CLIP", positive, "clip")
    g.connect(clip, "CLIP", empty, "clip")
    prompt = positive
    if dev:
        prompt = g.add("FluxGuidance", (820, 40), [3.5], size=(300, 60))
        g.connect(positive, "CONDITIONING", prompt, "conditioning")
    pladis = pladis_node(g, (820, 160), scale=1.5)
    g.connect(unet, "MODEL", pladis, "model")
    common = (conditioning(prompt), conditioning(empty), (latent, "LATENT"), (vae, "VAE"))
    steps = 20 if dev else 4
    sampler_chain(g, (pladis, "MODEL"), *common, (1200, 40), steps, 1.0, "euler", "simple", f"PLADIS_flux_{variant}")
    step_note = (
        "Flux dev: FluxGuidance 3.5, 20 steps, CFG 1."
        if dev
        else "Flux schnell: 4 steps, CFG 1 (schnell ignores guidance)."
    )
    g.note(FLUX_NOTE.format(variant=variant, steps=step_note), (0, 560), size=(760, 230))
    return g.to_workflow()


def sdxl_pag() -> dict:
    g = Graph()
    loader, positive, negative, latent = sdxl_front(g, "sd_xl_base_1.0.safetensors")
    g.note(PAG_NOTE, (0, 560), size=(760, 220))
    pladis = pladis_node(g, (860, 40))
    pag = g.add("PerturbedAttentionGuidance", (860, 300), [3.0], size=(320, 60))
    g.connect(loader, "MODEL", pladis, "model")
    g.connect(pladis, "MODEL", pag, "model")
    common = (conditioning(positive), conditioning(negative), (latent, "LATENT"), (loader, "VAE"))
    sampler_chain(g, (pag, "MODEL"), *common, (1240, 40), 25, 5.0, "dpmpp_2m", "karras", "PLADIS_pag")
    return g.to_workflow()


def sdxl_controlnet() -> dict:
    g = Graph()
    loader, positive, negative, latent = sdxl_front(g, "sd_xl_base_1.0.safetensors")
    g.note(CONTROLNET_NOTE, (0, 560), size=(760, 200))
    image = g.add("LoadImage", (860, 560), ["example.png", "image"], size=(320, 320))
    canny = g.add("Canny", (1220, 560), [0.4, 0.8], size=(320, 90))
    control = g.add("ControlNetLoader", (1220, 700), ["controlnet-canny-sdxl-1.0.safetensors"], size=(380, 60))
    apply = g.add("ControlNetApplyAdvanced", (1640, 560), [0.8, 0.0, 1.0], size=(320, 190))
    pladis = pladis_node(g, (860, 40))
    g.connect(loader, "MODEL", pladis, "model")
    g.connect(image, "IMAGE", canny, "image")
    g.connect(positive, "CONDITIONING", apply, "positive")
    g.connect(negative, "CONDITIONING", apply, "negative")
    g.connect(control, "CONTROL_NET", apply, "control_net")
    g.connect(canny, "IMAGE", apply, "image")
    common = ((apply, "positive"), (apply, "negative"), (latent, "LATENT"), (loader, "VAE"))
    sampler_chain(g, (pladis, "MODEL"), *common, (1240, 40), 25, 6.0, "dpmpp_2m", "karras", "PLADIS_controlnet")
    return g.to_workflow()


def new_family_note(graph: Graph, pos, size=(760, 330), **fields) -> dict:
    why = " PLADIS comes after the model-sampling node, so that its step range is read on the shifted schedule."
    text = NEW_FAMILY_NOTE.format(why=why if "ModelSampling" in fields["order"] else "", **fields)
    return graph.note(text, pos, size=size)


def custom_sampler(graph: Graph, guider: dict, sigmas: dict, latent: dict, vae: tuple, pos, sampler: str = "euler"):
    """RandomNoise + KSamplerSelect + SamplerCustomAdvanced -> VAEDecode; returns the decode node."""
    x, y = pos
    noise = graph.add("RandomNoise", (x, y), [SEED, "fixed"], size=(300, 82))
    select = graph.add("KSamplerSelect", (x, y + 130), [sampler], size=(300, 60))
    sample = graph.add("SamplerCustomAdvanced", (x + 340, y), size=(270, 330))
    decode = graph.add("VAEDecode", (x + 650, y), size=(210, 50))
    graph.connect(noise, "NOISE", sample, "noise")
    graph.connect(guider, "GUIDER", sample, "guider")
    graph.connect(select, "SAMPLER", sample, "sampler")
    graph.connect(sigmas, "SIGMAS", sample, "sigmas")
    graph.connect(latent, "LATENT", sample, "latent_image")
    graph.connect(sample, "output", decode, "samples")
    graph.connect(*vae, decode, "vae")
    return decode


def save_video(graph: Graph, decode: dict, fps: float, prefix: str, pos) -> None:
    create = graph.add("CreateVideo", pos, [fps, 8], size=(270, 80))
    # format, format.codec, and the hidden top-level codec that v0.33 keeps for older workflows
    save = graph.add("SaveVideo", (pos[0] + 310, pos[1]), [prefix, "auto", "auto", "auto"], size=(420, 420))
    graph.connect(decode, "IMAGE", create, "images")
    graph.connect(create, "VIDEO", save, "video")


def z_image_turbo() -> dict:
    """Follows the official "Text to Image (Z-Image-Turbo)" template (image_z_image_turbo.json)."""
    g = Graph()
    unet = g.add("UNETLoader", (0, 40), ["z_image_turbo_bf16.safetensors", "default"], size=(330, 110))
    clip = g.add("CLIPLoader", (0, 190), ["qwen_3_4b.safetensors", "lumina2", "default"], size=(330, 110))
    vae = g.add("VAELoader", (0, 340), ["ae.safetensors"], size=(330, 60))
    positive = g.add("CLIPTextEncode", (380, 40), [PROMPT], size=(400, 170), title="Prompt")
    negative = g.add("ConditioningZeroOut", (380, 250), size=(260, 30))
    latent = g.add("EmptySD3LatentImage", (380, 330), [1024, 1024, 1], size=(320, 110))
    shift = g.add("ModelSamplingAuraFlow", (820, 40), [3.0], size=(300, 60))
    pladis = pladis_node(g, (820, 140), scale=1.5)
    g.connect(clip, "CLIP", positive, "clip")
    g.connect(positive, "CONDITIONING", negative, "conditioning")
    g.connect(unet, "MODEL", shift, "model")
    g.connect(shift, "MODEL", pladis, "model")
    common = (conditioning(positive), conditioning(negative), (latent, "LATENT"), (vae, "VAE"))
    sampler_chain(g, (pladis, "MODEL"), *common, (1200, 40), 8, 1.0, "res_multistep", "simple", "PLADIS_z_image")
    new_family_note(
        g, (0, 560), model="Z-Image Turbo, 8 steps, CFG 1", how=JOINT + " Z-Image pads the caption with filler "
        "tokens; those are not text and keep their dense weights.",
        order="UNETLoader -> ModelSamplingAuraFlow -> PLADIS Model Patch -> KSampler",
        source="Z-Image is guidance-distilled: at CFG 1 the negative prompt does nothing, PLADIS still acts",
        sampling="Sampler res_multistep / simple, 8 steps, CFG 1.0, shift 3, as the official template.",
        template="Text to Image (Z-Image-Turbo)", template_file="image_z_image_turbo.json",
    )  # fmt: skip
    return g.to_workflow()


def flux2_klein() -> dict:
    """Follows the distilled subgraph of the official "Text to Image (Flux.2 Klein 4B)" template
    (image_flux2_klein_text_to_image.json)."""
    g = Graph()
    unet = g.add("UNETLoader", (0, 40), ["flux-2-klein-4b.safetensors", "default"], size=(330, 110))
    clip = g.add("CLIPLoader", (0, 190), ["qwen_3_4b.safetensors", "flux2", "default"], size=(330, 110))
    vae = g.add("VAELoader", (0, 340), ["flux2-vae.safetensors"], size=(330, 60))
    positive = g.add("CLIPTextEncode", (380, 40), [PROMPT], size=(400, 170), title="Prompt")
    negative = g.add("ConditioningZeroOut", (380, 250), size=(260, 30))
    latent = g.add("EmptyFlux2LatentImage", (380, 330), [1024, 1024, 1], size=(320, 110))
    sigmas = g.add("Flux2Scheduler", (380, 480), [4, 1024, 1024], size=(320, 110))
    pladis = pladis_node(g, (820, 40), scale=1.5)
    guider = g.add("CFGGuider", (820, 480), [1.0], size=(300, 100))
    g.connect(clip, "CLIP", positive, "clip")
    g.connect(positive, "CONDITIONING", negative, "conditioning")
    g.connect(unet, "MODEL", pladis, "model")
    g.connect(pladis, "MODEL", guider, "model")
    g.connect(positive, "CONDITIONING", guider, "positive")
    g.connect(negative, "CONDITIONING", guider, "negative")
    decode = custom_sampler(g, guider, sigmas, latent, (vae, "VAE"), (1160, 40))
    save = g.add("SaveImage", (1160, 420), ["PLADIS_flux2_klein"], size=(380, 420))
    g.connect(decode, "IMAGE", save, "images")
    new_family_note(
        g, (0, 640), model="Flux.2 Klein 4B (distilled), 4 steps, CFG 1", how=JOINT + " ComfyUI left-pads "
        "Flux.2's text with zero tokens; those are filler, not text.",
        order="UNETLoader -> PLADIS Model Patch -> CFGGuider -> SamplerCustomAdvanced",
        source="the PLADIS authors' follow-up (arXiv 2603.02531) applies a related sparse-vs-dense extrapolation "
        "to FLUX.2; its values are not PLADIS's λ",
        sampling="Flux2Scheduler 4 steps, euler, CFG 1.0 with a zeroed negative, as the official template.",
        template="Text to Image (Flux.2 Klein 4B Distilled)", template_file="image_flux2_klein_text_to_image.json",
    )  # fmt: skip
    return g.to_workflow()


def qwen_image() -> dict:
    """Follows the official "Text to Image (Qwen-Image)" template (image_qwen_image.json), without its optional
    Lightning LoRA."""
    g = Graph()
    unet = g.add("UNETLoader", (0, 40), ["qwen_image_fp8_e4m3fn.safetensors", "default"], size=(330, 110))
    clip = g.add("CLIPLoader", (0, 190), ["qwen_2.5_vl_7b_fp8_scaled.safetensors", "qwen_image", "default"])
    vae = g.add("VAELoader", (0, 340), ["qwen_image_vae.safetensors"], size=(330, 60))
    positive = g.add("CLIPTextEncode", (380, 40), [PROMPT], size=(400, 170), title="Positive prompt")
    negative = g.add("CLIPTextEncode", (380, 250), [""], size=(400, 100), title="Negative prompt")
    latent = g.add("EmptySD3LatentImage", (380, 400), [1328, 1328, 1], size=(320, 110))
    shift = g.add("ModelSamplingAuraFlow", (820, 40), [3.1], size=(300, 60))
    pladis = pladis_node(g, (820, 140), scale=1.5)
    g.connect(clip, "CLIP", positive, "clip")
    g.connect(clip, "CLIP", negative, "clip")
    g.connect(unet, "MODEL", shift, "model")
    g.connect(shift, "MODEL", pladis, "model")
    common = (conditioning(positive), conditioning(negative), (latent, "LATENT"), (vae, "VAE"))
    sampler_chain(g, (pladis, "MODEL"), *common, (1200, 40), 20, 4.0, "euler", "simple", "PLADIS_qwen_image")
    new_family_note(
        g, (0, 560), model="Qwen-Image", how=JOINT,
        order="UNETLoader -> ModelSamplingAuraFlow -> PLADIS Model Patch -> KSampler",
        source="the PLADIS authors' follow-up (arXiv 2603.02531) applies a related sparse-vs-dense extrapolation "
        "to Qwen-Image; its values are not PLADIS's λ",
        sampling="Sampler euler / simple, 20 steps, CFG 4.0, shift 3.1, 1328x1328, as the official template.",
        template="Text to Image (Qwen-Image)", template_file="image_qwen_image.json",
    )  # fmt: skip
    return g.to_workflow()


def wan22_t2v() -> dict:
    """Follows the official "Text to Video (Wan 2.2)" 14B template (video_wan2_2_14B_t2v.json), without its
    optional 4-step LoRAs: a high-noise and a low-noise expert share the 20 steps."""
    g = Graph()
    clip = g.add("CLIPLoader", (0, 340), ["umt5_xxl_fp8_e4m3fn_scaled.safetensors", "wan", "default"])
    vae = g.add("VAELoader", (0, 500), ["wan_2.1_vae.safetensors"], size=(330, 60))
    positive = g.add("CLIPTextEncode", (380, 340), [VIDEO_PROMPT], size=(400, 170), title="Positive prompt")
    negative = g.add("CLIPTextEncode", (380, 550), [WAN_NEGATIVE], size=(400, 150), title="Negative prompt")
    latent = g.add("EmptyHunyuanLatentVideo", (380, 740), [640, 640, 81, 1], size=(320, 130))
    g.connect(clip, "CLIP", positive, "clip")
    g.connect(clip, "CLIP", negative, "clip")
    samplers = []
    for row, expert in enumerate(("high", "low")):
        first = row == 0
        name = f"wan2.2_t2v_{expert}_noise_14B_fp8_scaled.safetensors"
        unet = g.add("UNETLoader", (0, 40 + row * 150), [name, "default"], size=(330, 110))
        shift = g.add("ModelSamplingSD3", (820, 40 + row * 520), [5.0], size=(300, 60))
        pladis = pladis_node(g, (820, 140 + row * 520), scale=1.5)
        widgets = (
            ["enable", SEED, "fixed", 20, 3.5, "euler", "simple", 0, 10, "enable"]
            if first
            else ["disable", 0, "fixed", 20, 3.5, "euler", "simple", 10, 10000, "disable"]
        )
        sampler = g.add("KSamplerAdvanced", (1200, 40 + row * 520), widgets, size=(320, 330))
        g.connect(unet, "MODEL", shift, "model")
        g.connect(shift, "MODEL", pladis, "model")
        g.connect(pladis, "MODEL", sampler, "model")
        g.connect(positive, "CONDITIONING", sampler, "positive")
        g.connect(negative, "CONDITIONING", sampler, "negative")
        g.connect(*(samplers[-1] if samplers else (latent, "LATENT")), sampler, "latent_image")
        samplers.append((sampler, "LATENT"))
    decode = g.add("VAEDecode", (1560, 560), size=(210, 50))
    g.connect(*samplers[-1], decode, "samples")
    g.connect(vae, "VAE", decode, "vae")
    save_video(g, decode, 16, "video/PLADIS_wan22", (1560, 660))
    new_family_note(
        g, (0, 920), model="Wan 2.2 14B, text to video", how=CROSS + " Both experts get the same PLADIS settings.",
        order="UNETLoader -> ModelSamplingSD3 -> PLADIS Model Patch -> KSamplerAdvanced, once per expert",
        source="the paper tried image models only",
        sampling="Each expert: euler / simple, 20 steps in all (high noise 0-10, low noise 10-20), CFG 3.5, shift 5; "
        "640x640, 81 frames at 16 fps, as the official template.",
        template="Text to Video (Wan 2.2)", template_file="video_wan2_2_14B_t2v.json",
    )  # fmt: skip
    return g.to_workflow()


def hunyuan_video_15() -> dict:
    """Follows the official HunyuanVideo 1.5 720p text-to-video template (video_hunyuan_video_1.5_720p_t2v.json),
    without its optional EasyCache and super-resolution stages."""
    g = Graph()
    unet = g.add("UNETLoader", (0, 40), ["hunyuanvideo1.5_720p_t2v_fp16.safetensors", "default"], size=(330, 110))
    clip = g.add(
        "DualCLIPLoader",
        (0, 190),
        ["qwen_2.5_vl_7b_fp8_scaled.safetensors", "byt5_small_glyphxl_fp16.safetensors", "hunyuan_video_15", "default"],
        size=(330, 150),
    )
    vae = g.add("VAELoader", (0, 380), ["hunyuanvideo15_vae_fp16.safetensors"], size=(330, 60))
    positive = g.add("CLIPTextEncode", (380, 40), [VIDEO_PROMPT], size=(400, 170), title="Positive prompt")
    negative = g.add("CLIPTextEncode", (380, 250), [""], size=(400, 100), title="Negative prompt")
    latent = g.add("EmptyHunyuanVideo15Latent", (380, 400), [1280, 720, 121, 1], size=(320, 130))
    shift = g.add("ModelSamplingSD3", (820, 40), [7.0], size=(300, 60))
    pladis = pladis_node(g, (820, 140), scale=1.5)
    guider = g.add("CFGGuider", (820, 480), [6.0], size=(300, 100))
    sigmas = g.add("BasicScheduler", (820, 620), ["simple", 20, 1.0], size=(300, 110))
    g.connect(clip, "CLIP", positive, "clip")
    g.connect(clip, "CLIP", negative, "clip")
    g.connect(unet, "MODEL", shift, "model")
    g.connect(shift, "MODEL", pladis, "model")
    g.connect(pladis, "MODEL", guider, "model")
    g.connect(positive, "CONDITIONING", guider, "positive")
    g.connect(negative, "CONDITIONING", guider, "negative")
    g.connect(unet, "MODEL", sigmas, "model")  # as in the template: the schedule of the unshifted model
    decode = custom_sampler(g, guider, sigmas, latent, (vae, "VAE"), (1160, 40))
    save_video(g, decode, 24, "video/PLADIS_hunyuan_video_1.5", (1160, 420))
    new_family_note(
        g, (0, 780), model="HunyuanVideo 1.5 720p, text to video", how=JOINT + " Vision-encoder tokens, where "
        "present, are not text.",
        order="UNETLoader -> ModelSamplingSD3 -> PLADIS Model Patch -> CFGGuider -> SamplerCustomAdvanced",
        source="the paper tried image models only",
        sampling="euler, simple schedule, 20 steps, CFG 6, shift 7; 1280x720, 121 frames at 24 fps, as the "
        "official template.",
        template="HunyuanVideo 1.5 720p text to video", template_file="video_hunyuan_video_1.5_720p_t2v.json",
    )  # fmt: skip
    return g.to_workflow()


WORKFLOW_BUILDERS = {
    "PLADIS - SDXL on vs off (same seed)": sdxl_ab,
    "PLADIS - SDXL-Lightning 4 steps CFG 1": sdxl_lightning,
    "PLADIS - Flux dev": lambda: flux("dev"),
    "PLADIS - Flux schnell": lambda: flux("schnell"),
    "PLADIS - SDXL with PAG": sdxl_pag,
    "PLADIS - SDXL with ControlNet": sdxl_controlnet,
    "PLADIS - Z-Image Turbo 8 steps CFG 1": z_image_turbo,
    "PLADIS - Flux.2 Klein 4B 4 steps CFG 1": flux2_klein,
    "PLADIS - Qwen-Image": qwen_image,
    "PLADIS - Wan 2.2 14B text to video": wan22_t2v,
    "PLADIS - HunyuanVideo 1.5 720p text to video": hunyuan_video_15,
}


def main() -> None:
    WORKFLOWS.mkdir(exist_ok=True)
    for name, build in WORKFLOW_BUILDERS.items():
        (WORKFLOWS / f"{name}.json").write_text(json.dumps(build(), indent=1, ensure_ascii=False) + "\n")
        print("wrote", name)


if __name__ == "__main__":
    main()
