"""The pieces several example workflows share: prompts, the PLADIS node, samplers, the output stages, the notes of
the model families the paper did not try."""

from __future__ import annotations

from workflow_graph import Graph
from workflow_texts import NEGATIVE, NEW_FAMILY_NOTE, PROMPT

SEED = 123456789


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
