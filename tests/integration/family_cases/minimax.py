"""MiniMax H3 (text-to-video+audio, image-to-video): the model's packed single-stream layout,
[text | keyframe rows | audio | video]: the video rows change over the prompt's text-tagged keys."""

from __future__ import annotations

import functools

import comfy.model_base
import comfy.supported_models
import torch
from harness import CONTEXT_DIM, gen

from family_cases.common import case, requires


@requires("MiniMaxH3")
def minimax_h3_case(image_to_video=False):
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
    return case(model_config, model_class, latent, cond, expect, ["single"])


CASES = {
    "minimax_h3": minimax_h3_case,
    "minimax_h3_i2v": functools.partial(minimax_h3_case, True),
}
