"""OmniGen2 and Boogu-Image: [text | references | target], the target's rows change."""

from __future__ import annotations

import functools

import comfy.model_base
import comfy.supported_models
import torch
from harness import CONTEXT_DIM, gen

from family_cases.common import case


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

    return case(
        model_config,
        getattr(comfy.model_base, name),
        torch.zeros(1, 16, 8, 8),
        cond,
        expect,
        ["double", "single"] if boogu else ["block"],
    )


CASES = {
    "omnigen2": omnigen2_case,
    "boogu": functools.partial(omnigen2_case, True),
}
