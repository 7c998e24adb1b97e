"""Writes example_workflows/*.json (ComfyUI UI format, version 0.4) from the graphs described below.

    python scripts/build_example_workflows.py

Inputs, outputs and widget order come from tests/workflows/node_schemas.json (recorded from a real ComfyUI by
scripts/record_node_schemas.py), so that the files agree with the node definitions; the validation test checks
the written files, not this script.

Every loader node carries ``properties.models`` (file name, download URL, models folder), which is where the front
end's missing-models list reads its Download links; the links come from MODEL_LINKS, one table. The nodes sit in
labelled, coloured groups, one per stage (models, prompts, PLADIS, sampling, output), laid out left to right.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from workflow_tools import LOADER_FOLDERS, WIDGET_TYPES, WORKFLOWS, input_specs, load_schemas  # noqa: E402

SCHEMAS = load_schemas()
PROMPT = (
    "a red glass teapot on a wooden table next to three yellow lemons and a blue ceramic cup, "
    "morning light through a window, photograph"
)
NEGATIVE = "blurry, low quality, watermark"
SEED = 123456789

HF = "https://huggingface.co/"
# Where each model file a workflow loads can be downloaded, grouped by where the link comes from. The links of the
# official templates are copied as they stand in properties.models of the loader nodes of the template that the
# workflow follows (comfyui-workflow-templates-json 0.1.123 on PyPI). Two files are in no official template: their
# links are the file's own Hugging Face repository, where the model page lists it under that name.
TEMPLATE_PACKAGE = "comfyui-workflow-templates-json 0.1.123"
# The official Flux.1 dev and schnell templates link the same text encoders and VAE.
FLUX1_ENCODERS_AND_VAE = {
    "clip_l.safetensors": (
        "text_encoders",
        HF + "comfyanonymous/flux_text_encoders/resolve/main/clip_l.safetensors",
    ),
    "t5xxl_fp16.safetensors": (
        "text_encoders",
        HF + "comfyanonymous/flux_text_encoders/resolve/main/t5xxl_fp16.safetensors",
    ),
    "ae.safetensors": (
        "vae",
        HF + "Comfy-Org/Lumina_Image_2.0_Repackaged/resolve/main/split_files/vae/ae.safetensors",
    ),
}
MODEL_LINKS: dict[str, dict[str, tuple[str, str]]] = {
    "image_sdxl_simple.json": {
        "sd_xl_base_1.0.safetensors": (
            "checkpoints",
            HF + "stabilityai/stable-diffusion-xl-base-1.0/resolve/main/sd_xl_base_1.0.safetensors?download=true",
        ),
    },
    "flux_dev_full_text_to_image.json": {
        "flux1-dev.safetensors": ("diffusion_models", HF + "Comfy-Org/flux1-dev/resolve/main/flux1-dev.safetensors"),
        **FLUX1_ENCODERS_AND_VAE,
    },
    "flux_schnell_full_text_to_image.json": {
        "flux1-schnell.safetensors": (
            "diffusion_models",
            HF + "Comfy-Org/flux1-schnell/resolve/main/flux1-schnell.safetensors",
        ),
        **FLUX1_ENCODERS_AND_VAE,
    },
    "image_z_image_turbo.json": {
        "z_image_turbo_bf16.safetensors": (
            "diffusion_models",
            HF + "Comfy-Org/z_image_turbo/resolve/main/split_files/diffusion_models/z_image_turbo_bf16.safetensors",
        ),
        "qwen_3_4b.safetensors": (
            "text_encoders",
            HF + "Comfy-Org/z_image_turbo/resolve/main/split_files/text_encoders/qwen_3_4b.safetensors",
        ),
        "ae.safetensors": ("vae", HF + "Comfy-Org/z_image_turbo/resolve/main/split_files/vae/ae.safetensors"),
    },
    "image_flux2_klein_text_to_image.json": {
        "flux-2-klein-4b.safetensors": (
            "diffusion_models",
            HF + "Comfy-Org/flux2-klein/resolve/main/split_files/diffusion_models/flux-2-klein-4b.safetensors",
        ),
        "qwen_3_4b.safetensors": (
            "text_encoders",
            HF + "Comfy-Org/flux2-klein/resolve/main/split_files/text_encoders/qwen_3_4b.safetensors",
        ),
        "flux2-vae.safetensors": ("vae", HF + "Comfy-Org/flux2-dev/resolve/main/split_files/vae/flux2-vae.safetensors"),
    },
    "image_qwen_image.json": {
        "qwen_image_fp8_e4m3fn.safetensors": (
            "diffusion_models",
            HF + "Comfy-Org/Qwen-Image_ComfyUI/resolve/main/split_files/diffusion_models/"
            "qwen_image_fp8_e4m3fn.safetensors",
        ),
        "qwen_2.5_vl_7b_fp8_scaled.safetensors": (
            "text_encoders",
            HF + "Comfy-Org/Qwen-Image_ComfyUI/resolve/main/split_files/text_encoders/"
            "qwen_2.5_vl_7b_fp8_scaled.safetensors",
        ),
        "qwen_image_vae.safetensors": (
            "vae",
            HF + "Comfy-Org/Qwen-Image_ComfyUI/resolve/main/split_files/vae/qwen_image_vae.safetensors",
        ),
    },
    "video_wan2_2_14B_t2v.json": {
        "wan2.2_t2v_high_noise_14B_fp8_scaled.safetensors": (
            "diffusion_models",
            HF + "Comfy-Org/Wan_2.2_ComfyUI_Repackaged/resolve/main/split_files/diffusion_models/"
            "wan2.2_t2v_high_noise_14B_fp8_scaled.safetensors",
        ),
        "wan2.2_t2v_low_noise_14B_fp8_scaled.safetensors": (
            "diffusion_models",
            HF + "Comfy-Org/Wan_2.2_ComfyUI_Repackaged/resolve/main/split_files/diffusion_models/"
            "wan2.2_t2v_low_noise_14B_fp8_scaled.safetensors",
        ),
        "umt5_xxl_fp8_e4m3fn_scaled.safetensors": (
            "text_encoders",
            HF + "Comfy-Org/Wan_2.1_ComfyUI_repackaged/resolve/main/split_files/text_encoders/"
            "umt5_xxl_fp8_e4m3fn_scaled.safetensors",
        ),
        "wan_2.1_vae.safetensors": (
            "vae",
            HF + "Comfy-Org/Wan_2.2_ComfyUI_Repackaged/resolve/main/split_files/vae/wan_2.1_vae.safetensors",
        ),
    },
    "video_hunyuan_video_1.5_720p_t2v.json": {
        "hunyuanvideo1.5_720p_t2v_fp16.safetensors": (
            "diffusion_models",
            HF + "Comfy-Org/HunyuanVideo_1.5_repackaged/resolve/main/split_files/diffusion_models/"
            "hunyuanvideo1.5_720p_t2v_fp16.safetensors",
        ),
        "qwen_2.5_vl_7b_fp8_scaled.safetensors": (
            "text_encoders",
            HF + "Comfy-Org/HunyuanVideo_1.5_repackaged/resolve/main/split_files/text_encoders/"
            "qwen_2.5_vl_7b_fp8_scaled.safetensors",
        ),
        "byt5_small_glyphxl_fp16.safetensors": (
            "text_encoders",
            HF + "Comfy-Org/HunyuanVideo_1.5_repackaged/resolve/main/split_files/text_encoders/"
            "byt5_small_glyphxl_fp16.safetensors",
        ),
        "hunyuanvideo15_vae_fp16.safetensors": (
            "vae",
            HF + "Comfy-Org/HunyuanVideo_1.5_repackaged/resolve/main/split_files/vae/"
            "hunyuanvideo15_vae_fp16.safetensors",
        ),
    },
    # In no official template (SDXL-Lightning, an SDXL canny ControlNet): the model's own repository.
    "ByteDance/SDXL-Lightning": {
        "sdxl_lightning_4step.safetensors": (
            "checkpoints",
            HF + "ByteDance/SDXL-Lightning/resolve/main/sdxl_lightning_4step.safetensors",
        ),
    },
    "stabilityai/control-lora": {
        "control-lora-canny-rank256.safetensors": (
            "controlnet",
            HF + "stabilityai/control-lora/resolve/main/control-LoRAs-rank256/control-lora-canny-rank256.safetensors",
        ),
    },
}

# LiteGraph's group colours (the front end's colour menu): one per stage.
STAGE_COLORS = {
    "Models": "#3f789e",
    "Prompts": "#8A8",
    "ControlNet": "#b06634",
    "PLADIS": "#a1309b",
    "Sampling": "#b58b2a",
    "Output": "#88A",
}
NOTE_COLORS = ("#222", "#000")  # the official templates' MarkdownNote colours
TITLE_HEIGHT, GROUP_HEADER, PADDING, NODE_GAP, COLUMN_GAP = 30, 50, 20, 30, 60

SDXL_NOTE = """## PLADIS — SDXL

PLADIS sharpens how the image attends to the prompt (sparse attention, extrapolated): same model, same number of
steps, no training.

Settings (the paper's): alpha 1.5 (entmax15), scale 2.0, steps 0–100 %, layers = default (input and output
blocks; the middle block is left alone).

**Try:** scale (λ) 1.0–3.0; above ~3 it over-sharpens like a too-high CFG.

The two samplers share seed and settings: "without PLADIS" runs the plain model, "with PLADIS" the patched one."""

LIGHTNING_NOTE = """## PLADIS — SDXL-Lightning, 4 steps, CFG 1

Guidance-distilled models run at CFG 1, where negative-prompt guidance does nothing; PLADIS still works because
it changes the attention inside the single model evaluation.

Settings: alpha 1.5, scale 2.0 (the paper's setting for Lightning, Turbo, DMD2 and Hyper-SDXL), all steps.
Sampler euler / sgm_uniform, 4 steps, CFG 1.0, as SDXL-Lightning's 4-step checkpoint expects.

**Try:** scale (λ) 1.0–3.0."""

FLUX_NOTE = """## PLADIS — Flux {variant}

In Flux, text and image tokens attend jointly. PLADIS changes only how image tokens attend to the text tokens,
keeping the share of attention each image token gives to the text (the official Flux recipe), in every double
and single block (layers = custom with "double" or "single" restricts it).

Settings: alpha 1.5, scale 1.5 as a starting point (the paper used PLADIS on Flux; its per-model scale is not
published in what we could read). {steps}

**Try:** scale (λ) 1.0–2.0."""

PAG_NOTE = """## PLADIS + Perturbed-Attention Guidance — SDXL

PLADIS (cross-attention) and PAG (self-attention of the middle block) act on different layers and stack: the
paper reports its best SDXL scores with PAG + PLADIS.

Order: Load Checkpoint -> PLADIS Model Patch -> PerturbedAttentionGuidance -> KSampler (PAG may also come first).
Settings: PLADIS alpha 1.5, scale 2.0; PAG scale 3.0; CFG 5.

**Try:** scale (λ) 1.0–3.0."""

CONTROLNET_NOTE = """## PLADIS + ControlNet — SDXL

ControlNet adds its residuals to the UNet; PLADIS changes the UNet's cross-attention. They compose.
Replace example.png with your image; Canny makes the edge map the ControlNet (Stability AI's canny Control-LoRA)
follows.

Settings: PLADIS alpha 1.5, scale 2.0; ControlNet strength 0.8.

**Try:** scale (λ) 1.0–3.0."""

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
        "## PLADIS — {model}",
        "{how}",
        "Order: {order}.{why}",
        "Settings: alpha 1.5, scale 1.5, steps 0–100 %, layers = default. Not in the paper: our extension of the "
        "method to this model family ({source}).",
        "**Try:** scale (λ) 1.0–2.0.",
        "{sampling}",
        'Graph and file names as in ComfyUI\'s official "{template}" template ({template_file}).',
    )
)

JOINT = (
    "Text and image tokens attend jointly here; PLADIS changes only how image tokens attend to the text tokens, "
    "keeping the share of attention each image token gives to the text."
)
CROSS = "This model has true text cross-attention: PLADIS replaces it in every block; self-attention is untouched."


def note_height(text: str, width: int) -> int:
    """Enough height for the text at the front end's note font (about 7.5 px a character, 20 px a line)."""
    per_line = max(1, int((width - 20) / 7.5))
    shown = re.sub(r"\]\([^)]*\)", "]", text)  # a markdown link shows its text, not its URL
    lines = sum(1 + len(line) // per_line for line in shown.splitlines())
    return 40 + 20 * lines


class Graph:
    """A UI-format workflow being built: nodes, links, and the stages (groups) they are laid out in."""

    def __init__(self, *link_sources: str) -> None:
        self.nodes: list[dict] = []
        self.links: list[list] = []
        self.groups: list[dict] = []
        self.link_sources = link_sources

    def add(self, kind: str, widgets: list | None = None, size=None, title=None) -> dict:
        node = {
            "id": len(self.nodes) + 1,
            "type": kind,
            "pos": [0, 0],
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
        if kind in LOADER_FOLDERS:
            node["properties"]["models"] = [self.model_entry(v) for v in node["widgets_values"] if is_model_file(v)]
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

    def model_entry(self, name: str) -> dict:
        """The properties.models entry for a file, from the first of this workflow's link sources that has it."""
        for source in self.link_sources:
            if name in MODEL_LINKS[source]:
                directory, url = MODEL_LINKS[source][name]
                return {"name": name, "url": url, "directory": directory}
        raise KeyError(f"{name}: no download link in {self.link_sources}")

    def models(self) -> list[dict]:
        """Every model file the workflow loads, in node order, once each."""
        entries = [entry for node in self.nodes for entry in node["properties"].get("models", [])]
        return list({entry["name"]: entry for entry in entries}.values())

    def note(self, text: str, width: int = 440) -> dict:
        node = self.add("MarkdownNote", [text], size=(width, note_height(text, width)))
        node["color"], node["bgcolor"] = NOTE_COLORS
        return node

    def models_note(self) -> dict:
        """Which file goes into which folder, with the links the loaders carry, as the official templates' notes."""
        by_folder: dict[str, list[dict]] = {}
        for entry in self.models():
            by_folder.setdefault(entry["directory"], []).append(entry)
        lines = ["## Model files", "", "Put each file in `ComfyUI/models/<folder>/`:", ""]
        for folder, entries in by_folder.items():
            lines += [f"**{folder}**", ""] + [f"- [{e['name']}]({e['url']})" for e in entries] + [""]
        sources = [s for s in self.link_sources if s.endswith(".json")]
        others = [s for s in self.link_sources if not s.endswith(".json")]
        if sources:
            lines.append(f"Links as in ComfyUI's official template {', '.join(sources)}.")
        if others:
            lines.append(f"Not in an official template: {', '.join(others)} on Hugging Face, the model's own page.")
        lines += ["", "A missing file shows in ComfyUI's missing-models list with a **Download** button."]
        return self.note("\n".join(lines))

    def connect(self, source: dict, output: str, target: dict, input_name: str) -> None:
        slot = next(i for i, o in enumerate(source["outputs"]) if o["name"] == output)
        target_slot = next(i for i, x in enumerate(target["inputs"]) if x["name"] == input_name)
        link_id = len(self.links) + 1
        kind = source["outputs"][slot]["type"]
        self.links.append([link_id, source["id"], slot, target["id"], target_slot, kind])
        source["outputs"][slot]["links"].append(link_id)
        target["inputs"][target_slot]["link"] = link_id

    def layout(self, stages: list[tuple[str, list[dict]]]) -> None:
        """One column per stage, left to right, its nodes stacked top to bottom inside a labelled group."""
        x = 0
        for number, (stage, nodes) in enumerate(stages, start=1):
            width = max(node["size"][0] for node in nodes)
            y = GROUP_HEADER + TITLE_HEIGHT
            for node in nodes:
                node["pos"] = [x + PADDING, y]
                y += node["size"][1] + TITLE_HEIGHT + NODE_GAP
            bounding = [x, 0, width + 2 * PADDING, y - NODE_GAP - TITLE_HEIGHT + PADDING]
            self.groups.append(
                {
                    "id": number,
                    "title": f"Step {number} - {stage}",
                    "bounding": bounding,
                    "color": STAGE_COLORS[stage],
                    "font_size": 24,
                    "flags": {},
                }
            )
            x += width + 2 * PADDING + COLUMN_GAP
        placed = {id(node) for _, nodes in stages for node in nodes}
        missing = [node["type"] for node in self.nodes if id(node) not in placed]
        assert not missing, f"nodes in no stage: {missing}"

    def staged(self, models, prompts, pladis, sampling, output, controlnet=None) -> dict:
        """The workflow, its nodes laid out in the usual stages (the models stage ends with the model-files note)."""
        stages = [("Models", [*models, self.models_note()]), ("Prompts", prompts)]
        if controlnet:
            stages.append(("ControlNet", controlnet))
        self.layout([*stages, ("PLADIS", pladis), ("Sampling", sampling), ("Output", output)])
        return self.to_workflow()

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


def is_model_file(value) -> bool:
    return isinstance(value, str) and value.endswith(".safetensors")


def sdxl_prompts(graph: Graph, loader: dict, negative: str = NEGATIVE) -> tuple[dict, dict]:
    positive = graph.add("CLIPTextEncode", [PROMPT], size=(400, 170), title="Positive prompt")
    negative_node = graph.add("CLIPTextEncode", [negative], size=(400, 130), title="Negative prompt")
    graph.connect(loader, "CLIP", positive, "clip")
    graph.connect(loader, "CLIP", negative_node, "clip")
    return positive, negative_node


def pladis_node(graph: Graph, scale: float = 2.0) -> dict:
    # tall enough for the widgets the web extension adds (preset, run report)
    return graph.add("PLADISModelPatch", [1.5, scale, 0.0, 1.0, "default", ""], size=(330, 300))


def ksampler(graph, model, positive, negative, latent, steps, cfg, sampler, scheduler, title=None) -> dict:
    """A KSampler; model, positive, negative and latent are (node, output name)."""
    node = graph.add("KSampler", [SEED, "fixed", steps, cfg, sampler, scheduler, 1.0], size=(320, 262), title=title)
    for source, input_name in (
        (model, "model"),
        (positive, "positive"),
        (negative, "negative"),
        (latent, "latent_image"),
    ):
        graph.connect(*source, node, input_name)
    return node


def save_image(graph: Graph, samples: tuple, vae: tuple, prefix: str, title=None) -> list[dict]:
    """VAEDecode -> SaveImage; returns both nodes (the output stage)."""
    decode = graph.add("VAEDecode", size=(210, 50))
    save = graph.add("SaveImage", [prefix], size=(380, 420), title=title)
    graph.connect(*samples, decode, "samples")
    graph.connect(*vae, decode, "vae")
    graph.connect(decode, "IMAGE", save, "images")
    return [decode, save]


def conditioning(node: dict) -> tuple[dict, str]:
    return node, "CONDITIONING"


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


def new_family_note(graph: Graph, **fields) -> dict:
    why = " PLADIS comes after the model-sampling node, so that its step range is read on the shifted schedule."
    text = NEW_FAMILY_NOTE.format(why=why if "ModelSampling" in fields["order"] else "", **fields)
    return graph.note(text)


def custom_sampler(graph: Graph, guider: dict, sigmas: dict, latent: dict, sampler: str = "euler") -> list[dict]:
    """RandomNoise + KSamplerSelect + SamplerCustomAdvanced; returns the three nodes, the sampler last."""
    noise = graph.add("RandomNoise", [SEED, "fixed"], size=(300, 82))
    select = graph.add("KSamplerSelect", [sampler], size=(300, 60))
    sample = graph.add("SamplerCustomAdvanced", size=(270, 330))
    graph.connect(noise, "NOISE", sample, "noise")
    graph.connect(guider, "GUIDER", sample, "guider")
    graph.connect(select, "SAMPLER", sample, "sampler")
    graph.connect(sigmas, "SIGMAS", sample, "sigmas")
    graph.connect(latent, "LATENT", sample, "latent_image")
    return [noise, select, sample]


def save_video(graph: Graph, samples: tuple, vae: tuple, fps: float, prefix: str) -> list[dict]:
    """VAEDecode -> CreateVideo -> SaveVideo; returns the three nodes (the output stage)."""
    decode = graph.add("VAEDecode", size=(210, 50))
    create = graph.add("CreateVideo", [fps, 8], size=(270, 80))
    # format, format.codec, and the hidden top-level codec that v0.33 keeps for older workflows
    save = graph.add("SaveVideo", [prefix, "auto", "auto", "auto"], size=(420, 420))
    graph.connect(*samples, decode, "samples")
    graph.connect(*vae, decode, "vae")
    graph.connect(decode, "IMAGE", create, "images")
    graph.connect(create, "VIDEO", save, "video")
    return [decode, create, save]


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
    pladis = pladis_node(g, scale=1.5)
    g.connect(clip, "CLIP", positive, "clip")
    g.connect(positive, "CONDITIONING", negative, "conditioning")
    g.connect(unet, "MODEL", shift, "model")
    g.connect(shift, "MODEL", pladis, "model")
    common = (conditioning(positive), conditioning(negative), (latent, "LATENT"))
    sampler = ksampler(g, (pladis, "MODEL"), *common, 8, 1.0, "res_multistep", "simple")
    output = save_image(g, (sampler, "LATENT"), (vae, "VAE"), "PLADIS_z_image")
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
    pladis = pladis_node(g, scale=1.5)
    g.connect(clip, "CLIP", positive, "clip")
    g.connect(clip, "CLIP", negative, "clip")
    g.connect(unet, "MODEL", shift, "model")
    g.connect(shift, "MODEL", pladis, "model")
    common = (conditioning(positive), conditioning(negative), (latent, "LATENT"))
    sampler = ksampler(g, (pladis, "MODEL"), *common, 20, 4.0, "euler", "simple")
    output = save_image(g, (sampler, "LATENT"), (vae, "VAE"), "PLADIS_qwen_image")
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
