"""HiDream-O1 (``HiDreamO1Transformer``): one Qwen3-VL language model over [prompt | timestep token | target
image patches]. Each layer runs two attention passes: the prompt rows (the first ``ar_len`` tokens) attend
causally through PyTorch directly, which no override reaches; the generation rows (the timestep token and the
image) attend to every key through ComfyUI's attention, with ``block_index`` set. PLADIS changes the
generation pass only: every generation row over the prompt's key columns, mass-preserving, as a cross-attention
whose first ``ar_len`` keys are text.

Text keys: the prompt's tokens before the timestep token (``ar_len``, which ComfyUI computes in ``extra_conds``);
the timestep token and the image keys keep their dense weights. With reference images (editing) the prompt
holds the references' vision tokens among its own and the sequence gains their patches: not described, the
calls pass through unchanged.
"""

from __future__ import annotations

from .base import CROSS, DitFamily, ModelCall, TokenLayout

NOTHING = TokenLayout(slice(0, 0), slice(0, 0), 0)


def hidream_o1_layout(call: ModelCall) -> TokenLayout:
    conds = call.conds
    ids, prompt = conds.get("input_ids"), conds.get("ar_len")
    if ids is None or not isinstance(prompt, int) or prompt <= 0 or conds.get("ref_patches") is not None:
        return NOTHING
    patch = call.diffusion_model.patch_size
    length = ids.shape[-1] + (call.x.shape[-2] // patch) * (call.x.shape[-1] // patch)
    return TokenLayout(slice(0, prompt), slice(0, length - prompt), length)


HIDREAM_O1 = DitFamily(
    "HiDream-O1",
    ("HiDreamO1Transformer",),
    (("block", "language_model.layers"),),
    CROSS,
    hidream_o1_layout,
    "the prompt's tokens (generation pass only; the timestep token and image keys are not text)",
)
