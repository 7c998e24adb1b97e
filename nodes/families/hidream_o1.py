"""HiDream-O1 (``HiDreamO1Transformer``): one Qwen3-VL language model over [prompt | timestep token | target
image patches]. Each layer runs two attention passes: the prompt rows (the first ``ar_len`` tokens) attend
causally through PyTorch directly, which no override reaches; the generation rows (the timestep token and the
image) attend to every key through ComfyUI's attention, with ``block_index`` set. PLADIS changes the
generation pass only: every generation row over the prompt's key columns, mass-preserving, as a cross-attention
whose first ``ar_len`` keys are text.

Text keys: the prompt's tokens before the timestep token (``ar_len``, which ComfyUI computes in ``extra_conds``);
the timestep token and the image keys keep their dense weights. With reference images (editing), ComfyUI splices
each reference's [vision start | ViT tokens | vision end] into the prompt and appends the references' patches
after the target's ([prompt with vision tokens | tms | target | reference patches]): the spliced tokens are not
text (read after the text keys, ``key_order``), and the reference patches' rows keep their dense attention.
"""

from __future__ import annotations

import torch

from .base import CROSS, DitFamily, ModelCall, TokenLayout, text_keys_first

NOTHING = TokenLayout(slice(0, 0), slice(0, 0), 0)
# Qwen3-VL's <|vision_start|>, <|vision_end|> and <|image_pad|>: what ComfyUI splices in for each reference
VISION_TOKEN_IDS = (151652, 151653, 151655)


def hidream_o1_layout(call: ModelCall) -> TokenLayout:
    conds = call.conds
    ids, prompt = conds.get("input_ids"), conds.get("ar_len")
    if ids is None or not isinstance(prompt, int) or prompt <= 0:
        return NOTHING
    patch = call.diffusion_model.patch_size
    target = (call.x.shape[-2] // patch) * (call.x.shape[-1] // patch)
    references = conds.get("ref_patches")
    if references is None:
        length = ids.shape[-1] + target
        return TokenLayout(slice(0, prompt), slice(0, length - prompt), length)
    length = ids.shape[-1] + target + references.shape[-2]
    is_text = torch.zeros(length, dtype=torch.bool)
    is_text[:prompt] = ~torch.isin(ids[0, :prompt].cpu(), torch.tensor(VISION_TOKEN_IDS))
    generation = ids.shape[-1] - prompt + target  # the timestep token and the target's patches
    return text_keys_first(is_text, slice(0, generation), image_rows_only=True)


HIDREAM_O1 = DitFamily(name="HiDream-O1", attention=CROSS, layout=hidream_o1_layout)
