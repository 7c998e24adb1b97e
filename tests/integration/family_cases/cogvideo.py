"""CogVideoX: joint, text first."""

from __future__ import annotations

import comfy.model_base
import comfy.supported_models
import torch
from harness import CONTEXT_DIM

from family_cases.common import case, joint_expect, plain_prompt, requires


@requires("CogVideoX")
def cogvideo_case():
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

    latent = torch.zeros(1, 16, 2, 8, 8)
    expect = joint_expect(image=32)
    return case(model_config, comfy.model_base.CogVideoX, latent, plain_prompt, expect, ["block"])


CASES = {
    "cogvideox": cogvideo_case,
}
