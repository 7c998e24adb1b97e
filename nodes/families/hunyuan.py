"""HunyuanVideo, HunyuanVideo 1.5, HunyuanImage 2.1 (ComfyUI's ``HunyuanVideo`` class): a text-only token
refiner, then Flux-style double and single blocks over [vision | text | reference latent | image], with
``block_type``/``block_index``.

Text keys: the LLM encoder's tokens and the byT5 glyph tokens (HunyuanVideo 1.5 puts byT5 first, HunyuanImage
2.1 last: either way one run). The SigLIP vision tokens of HunyuanVideo 1.5 I2V (``clip_fea``, placed first) are
image-encoder tokens, not text: their columns keep their dense weights and their rows stay unchanged, as do the
reference latent's (placed before the image). The LLM text padding is masked by the model's own mask.
"""

from __future__ import annotations

from .base import JOINT, DitFamily, ModelCall, TokenLayout, image_token_count


def _tokens(t, used: bool) -> int:
    return t.shape[1] if used and t is not None else 0


def hunyuan_layout(call: ModelCall) -> TokenLayout:
    dm, conds = call.diffusion_model, call.conds
    vision = _tokens(conds.get("clip_fea"), getattr(dm, "vision_in", None) is not None)
    glyphs = _tokens(conds.get("txt_byt5"), getattr(dm, "byt5_in", None) is not None)
    text_end = vision + glyphs + call.text_tokens
    reference = conds.get("ref_latent")
    start = text_end + (0 if reference is None else image_token_count(reference, dm.patch_size))
    image = image_token_count(call.x, dm.patch_size)
    return TokenLayout(slice(vision, text_end), slice(start, start + image), start + image)


HUNYUAN_VIDEO = DitFamily(name="HunyuanVideo", attention=JOINT, layout=hunyuan_layout)
