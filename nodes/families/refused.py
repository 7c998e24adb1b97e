"""Models PLADIS refuses on purpose, each with the reason (shown in the node's error and in the README).

``REFUSED`` is keyed by the diffusion model's class, ``REFUSED_FAMILIES`` by ComfyUI's model family (the
``supported_models`` class, matched with its subclasses) for UNets whose cross-attention exists but does not
attend text.

Causal Wan (``CausalWanModel``, Wan 2.1 for autoregressive Causal Forcing): ComfyUI's ``ar_video`` sampler, the one
it is made for, puts an ``ar_state`` in the transformer options and the model then runs its blocks frame block by
frame block without passing ``transformer_options`` on, so none of its attention calls reach the attention
override (after the first call its text cross-attention also reuses cached keys). PLADIS would do nothing there.

LTX-2, refused in an earlier release because its model call does not say where the prompt ends, is described in
``ltx2`` (its prompt length is recorded before the connector).
"""

from __future__ import annotations

from typing import Any

_AUDIO = (
    "an audio model: PLADIS sharpens how image queries attend to a prompt, and its effect on audio generation is "
    "neither in the paper nor measured by this pack, so it is not applied"
)
_IMAGE_TO_3D = "an image-to-3D model: it is conditioned on an image encoder's features, not on text"

REFUSED = {
    "CausalWanModel": (
        "Causal Wan's autoregressive path (the ar_video sampler it is made for) runs its blocks without "
        "transformer_options, so its text cross-attention never reaches the attention override PLADIS works through"
    ),
    "StageB": (
        "Stable Cascade stage B sees the prompt only as the pooled CLIP vector (mapped to a few tokens), not as the "
        "prompt's tokens; the prompt is followed in stage C, which PLADIS patches"
    ),
    "NaDiT": (
        "SeedVR2 is a restoration model with no text encoder (its positive and negative embeddings are fixed tensors "
        "in the checkpoint), and its window attention runs through a variable-length attention that ComfyUI calls "
        "without transformer_options, out of the override's reach"
    ),
    "AudioDiffusionTransformer": f"Stable Audio is {_AUDIO}",
    "ACEStepTransformer2DModel": f"ACE-Step is {_AUDIO}",
    "AceStepConditionGenerationModel": f"ACE-Step 1.5 is {_AUDIO}",
    "MiniMaxMusic3DiT": f"MiniMax Music 3 is {_AUDIO}",
    "Hunyuan3Dv2": f"Hunyuan3D 2 is {_IMAGE_TO_3D}",
    "HunYuanDiTPlain": f"Hunyuan3D 2.1 is {_IMAGE_TO_3D}",
    "Trellis2": f"TRELLIS.2 is {_IMAGE_TO_3D}",
    "LatentSeqMMFlowModel": f"TripoSplat is {_IMAGE_TO_3D}",
}

_IMAGE_EMBEDDING = "attends a CLIP-vision image embedding, not text, so there is no prompt for PLADIS to sharpen"
REFUSED_FAMILIES = {
    "SVD_img2vid": f"Stable Video Diffusion's (and SV3D's) cross-attention {_IMAGE_EMBEDDING}",
    "Stable_Zero123": f"Stable Zero123's cross-attention {_IMAGE_EMBEDDING}",
}


def family_refusal(model_config: Any) -> str | None:
    """Why PLADIS refuses this ComfyUI model family (its ``supported_models`` class or a parent), or None."""
    for cls in type(model_config).__mro__:
        if cls.__name__ in REFUSED_FAMILIES:
            return REFUSED_FAMILIES[cls.__name__]
    return None
