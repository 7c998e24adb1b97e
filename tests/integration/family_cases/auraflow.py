"""AuraFlow: joint [8 registers | text | image]."""

from __future__ import annotations

import comfy.model_base
import comfy.supported_models
import torch
from harness import CONTEXT_DIM

from family_cases.common import case, joint_expect, plain_prompt


def auraflow_case():
    config = {
        "in_channels": 16,
        "out_channels": 16,
        "patch_size": 2,
        "dim": 64,
        "n_layers": 3,
        "n_double_layers": 2,
        "n_heads": 4,
        "global_conddim": 64,
        "cond_seq_dim": CONTEXT_DIM,
        "max_seq": 64,
    }
    model_config = comfy.supported_models.AuraFlow(config)

    expect = joint_expect(before_text=8)
    return case(
        model_config, comfy.model_base.AuraFlow, torch.zeros(1, 16, 8, 8), plain_prompt, expect, ["double", "single"]
    )


CASES = {
    "auraflow": auraflow_case,
}
