"""HiDream I1 / E1 (joint, image first) and HiDream-O1 (text-to-image, editing)."""

from __future__ import annotations

import functools

import comfy.model_base
import comfy.supported_models
import torch
from harness import CONTEXT_DIM, gen

from family_cases.common import case, requires


def hidream_case(e1=False):
    """HiDream I1; E1: an edit image concatenated along the width (target and reference patches interleave)."""
    config = {
        "image_model": "hidream",
        "patch_size": 2,
        "in_channels": 16,
        "out_channels": 16,
        "num_layers": 1,
        "num_single_layers": 1,
        "attention_head_dim": 16,
        "num_attention_heads": 4,
        "caption_channels": [CONTEXT_DIM, 40],
        "text_emb_dim": 32,
        "num_routed_experts": 2,
        "num_activated_experts": 1,
        "axes_dims_rope": [8, 4, 4],
        "max_resolution": [16, 16],
        "llama_layers": [0, 1],
    }
    model_config = comfy.supported_models.HiDream(config)
    llama_tokens = 3

    def cond(seed, n):
        g = gen(seed)
        extra = {
            "pooled_output": torch.randn(1, 32, generator=g),
            "conditioning_llama3": torch.randn(1, 2, llama_tokens, 40, generator=g),
        }
        if e1:
            extra["concat_latent_image"] = torch.randn(1, 16, 8, 8, generator=gen(7))
        return [[torch.randn(1, n, CONTEXT_DIM, generator=g), extra]]

    image = 32 if e1 else 16  # 4 rows of 4 target patches (E1: then 4 reference patches, per row)
    target = torch.arange(image).view(4, -1)[:, :4].flatten()

    def expect(n_query, n_key, n_text):
        text_end = image + n_text + 2 * llama_tokens
        if n_query != n_key or n_query < text_end:
            return None
        return slice(image, text_end), (target if e1 else slice(0, 16))

    latent = torch.zeros(1, 16, 8, 8)
    return case(model_config, comfy.model_base.HiDream, latent, cond, expect, ["double", "single"])


@requires("HiDreamO1")
def hidream_o1_case(edit=False):
    """Text-to-image; edit: a reference image (its ViT tokens spliced into the prompt, its patches appended)."""
    import comfy.ldm.hidream_o1.model as o1

    text = {
        "vocab_size": o1.TMS_TOKEN_ID + 1,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 4,
        "head_dim": 16,
        "rope_dims": [4, 2, 2],
    }
    vision = {"hidden_size": 32, "num_heads": 2, "intermediate_size": 64, "depth": 1, "deepstack_visual_indexes": ()}
    config = {"image_model": "hidream_o1", "text_config_overrides": text, "vision_config_overrides": vision}
    model_config = comfy.supported_models.HiDreamO1(config)

    def cond(seed, n):
        # The prompt's token ids, ending with the timestep token, as ComfyUI's HiDream-O1 text encoder gives them
        g = gen(seed)
        ids = torch.cat([torch.randint(0, 1000, (1, n), generator=g), torch.tensor([[o1.TMS_TOKEN_ID]])], dim=1)
        extra = {"text_input_ids": ids}
        if edit:
            extra["reference_latents"] = [torch.rand(1, 64, 96, 3, generator=g)]  # an image, as ComfyUI loads one
        return [[torch.zeros(1, n + 1, 8), extra]]

    def expect(n_query, n_key, n_text):
        if not edit:
            # The generation pass: the timestep token's and the 16 image patches' rows over [prompt | tms | image]
            if n_query != 17 or n_key != n_text + 17:
                return None
            return slice(0, n_text), slice(0, n_query)
        # [3 prompt tokens | vision start, N ViT tokens, vision end | the rest of the prompt | tms | target | refs]
        vision = n_key - n_query - n_text  # the spliced tokens
        if n_query <= 17 or vision <= 2:
            return None
        text = torch.tensor([*range(3), *range(3 + vision, n_text + vision)])
        return text, slice(0, 17)  # the reference patches' rows stay dense

    latent = torch.zeros(1, 3, 128, 128)  # pixel space, 32x32 patches: 16 image tokens
    model_class = comfy.model_base.HiDreamO1
    return case(model_config, model_class, latent, cond, expect, ["block"])


CASES = {
    "hidream": hidream_case,
    "hidream_e1": functools.partial(hidream_case, True),
    "hidream_o1": hidream_o1_case,
    "hidream_o1_edit": functools.partial(hidream_o1_case, True),
}
