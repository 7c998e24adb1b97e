"""MiniMax H3 (``MiniMaxH3Model``), a joint audio-video DiT: one single-stream sequence per model call,
[text | condition rows (keyframes, references) | target audio | target video], one attention per block; ComfyUI
passes no block info (call order). The layout is the model's own: ``extra_conds`` builds it once per sampling
run (``minimax_payload["layout"]``, its segments as (start, stop, kind)), and the model checks it against the
call's shapes. The token refiner runs in ``extra_conds``, before sampling, over the text alone: not a site.

Text keys: the Qwen3-VL tokens the encoder tags as text (tag 1). A prompt with images in it (image-to-video:
the first and last frames go through the encoder too) carries vision pads among them (tag 0): image-encoder
tokens, not text, which keep their dense weights; the keys are read text first (``key_order``), which changes
no attention. Only the target video's rows change; the prompt's, the condition and reference rows and the audio
rows keep their dense attention (the audio's text attention is not an image query's).
"""

from __future__ import annotations

from typing import Any

import torch

from .base import JOINT, DitFamily, ModelCall, TokenLayout, no_text, text_keys_first


def _segment(layout: Any, kind: str) -> tuple[int, int] | None:
    return next(((start, stop) for start, stop, name in layout.segments if name == kind), None)


def minimax_h3_layout(call: ModelCall) -> TokenLayout:
    payload = call.conds.get("minimax_payload") or {}
    packed = payload.get("layout")
    text_tokens = call.text_tokens
    if packed is None or call.context is None:
        return no_text("the model call carries no packed layout (sampling without the audio-video latent)")
    text, video = _segment(packed, "text"), _segment(packed, "video")
    if text != (0, text_tokens) or video is None:
        return no_text("the packed layout does not match this model call's prompt")
    tags = payload.get("text_token_tags")
    if tags is not None and tags.numel() != text_tokens:
        return no_text("the prompt's token tags do not match its tokens")
    is_text = torch.zeros(packed.seq_len, dtype=torch.bool)
    is_text[:text_tokens] = True if tags is None else tags.reshape(-1).cpu() == 1
    return text_keys_first(is_text, slice(*video))


MINIMAX_H3 = DitFamily(name="MiniMax H3", attention=JOINT, layout=minimax_h3_layout)
