"""LTXV (cross-attention with the text mask) and LTX-2 / LTX-2.3 (the video and audio streams)."""

from __future__ import annotations

import functools

import comfy.model_base
import comfy.supported_models
import torch
from harness import CONTEXT_DIM, gen

from family_cases.common import case, cross_expect, requires


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
    return case(model_config, comfy.model_base.LTXV, latent, cond, cross_expect(32), ["block"])


LTX2_CONTEXT = 1024  # the embeddings connector appends learned registers to the prompt up to 1024 tokens


@requires("LTXAV")
def ltx2_case(version):
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
    return case(
        model_config,
        comfy.model_base.LTXAV,
        latent,
        cond,
        expect_for(("video",)),
        ["video"],
        width_aware=True,
        other_runs={"audio": ({"layers": "custom", "custom_layers": "video, audio"}, expect_for(("video", "audio")))},
    )


CASES = {
    "ltxv": ltxv_case,
    "ltx2": functools.partial(ltx2_case, "2.0"),
    "ltx23": functools.partial(ltx2_case, "2.3"),
}
