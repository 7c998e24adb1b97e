"""LTX-2 (``LTXAVModel``): each block has a video and an audio stream, each with self-attention and a true text
cross-attention over its half of the context, and audio↔video cross-attentions; no block info (call order per
stream). The video stream's text cross-attention is the default; the audio stream's is the ``audio`` part.

Text keys: the prompt's tokens. ComfyUI's text encoder cuts the Gemma padding, and ``extra_conds`` runs the
model's embeddings connectors before the model call: they append learned register tokens after the prompt up
to 1024 tokens and mix both. The registers are filler and keep their dense weights. The model call does not say
where the prompt ends, so ``prepare`` records it: an object patch on the clone's ``extra_conds`` adds the
prompt's token count to the conds (per batch element, as conds batch), and the layout wrapper takes it out
again before the model sees the conds. A prompt that reached ``extra_conds`` already through a connector (the
text encoder's compatibility mode) has no known length: PLADIS leaves those model calls unchanged, and logs so.

Calls are told apart by the queries' width (video and audio heads × head size differ in LTX-2 and 2.3) and
count; a stream whose text cross-attention the shapes cannot tell from another call of the block (an audio
stream when the video has exactly as many tokens as the context) is left unchanged in that model call.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from .base import CROSS, PACK_COND_PREFIX, DitFamily, ModelCall, QueryStream, TokenLayout, no_text

PROMPT_TOKENS = PACK_COND_PREFIX + "prompt_tokens"
UNKNOWN = -1


class PromptLengthRecorder:
    """The clone's ``extra_conds``: the model's own, plus the prompt's token count before the connector."""

    def __init__(self, extra_conds: Any) -> None:
        self.extra_conds = extra_conds

    def __call__(self, **kwargs: Any) -> dict:
        out = self.extra_conds(**kwargs)
        prompt, connected = kwargs.get("cross_attn"), out.get("c_crossattn")
        if isinstance(prompt, torch.Tensor) and connected is not None:
            import comfy.conds

            through_connector = kwargs.get("unprocessed_ltxav_embeds", False) or (
                connected.cond.shape[1] > prompt.shape[1]
            )
            tokens = prompt.shape[1] if through_connector else UNKNOWN
            out[PROMPT_TOKENS] = comfy.conds.CONDRegular(torch.tensor([[tokens]]))
        return out

    def __deepcopy__(self, memo: dict) -> PromptLengthRecorder:
        return self  # holds the model's bound method: share it, as ComfyUI shares the model between clones


def record_prompt_length(model_patcher: Any) -> None:
    current = model_patcher.get_model_object("extra_conds")
    if not isinstance(current, PromptLengthRecorder):
        model_patcher.add_object_patch("extra_conds", PromptLengthRecorder(current))


def stream_tokens(call: ModelCall) -> tuple[int, int]:
    """(video tokens, audio tokens) of the model call's latent (the streams come packed, with their shapes)."""
    shapes = call.conds.get("latent_shapes") or [call.x.shape]
    patch = call.diffusion_model.patchifier.patch_size
    video = math.prod(math.ceil(s / p) for s, p in zip(shapes[0][2:], patch, strict=True))
    audio = shapes[1][2] if len(shapes) > 1 else 0
    ref_audio = call.conds.get("ref_audio")
    if audio and isinstance(ref_audio, dict) and isinstance(ref_audio.get("tokens"), torch.Tensor):
        audio += ref_audio["tokens"].shape[1]
    return video, audio


def ltx2_layout(call: ModelCall) -> TokenLayout:
    recorded = call.conds.get(PROMPT_TOKENS)
    if recorded is None or call.context is None:
        return no_text(
            "the prompt's length did not reach the model call (no text cond came through the patched extra_conds)"
        )
    prompts = [int(n) for n in recorded.reshape(-1).tolist()]
    if UNKNOWN in prompts:
        return no_text(
            "the prompt reached LTX-2 already through its embeddings connector (text-encoder compatibility mode), "
            "so where the prompt ends among the register tokens is unknown"
        )
    dm, length = call.diffusion_model, call.text_tokens
    video, audio = stream_tokens(call)
    video_width, audio_width = dm.inner_dim, dm.audio_inner_dim
    if video_width == audio_width:
        return no_text("its video and audio attentions have the same width, so their text calls cannot be told apart")
    streams = [QueryStream("video", video_width, video)]
    # The audio stream's text call is (audio × context) at the audio width; the video-to-audio call is
    # (audio × video) at the same width, and the audio-to-video one (video × audio).
    if audio and length not in (video, audio):
        streams.append(QueryStream("audio", audio_width, audio))
    texts = [min(n, length) for n in prompts]
    batch_text = tuple(slice(0, n) for n in texts) if len(set(texts)) > 1 else ()
    return TokenLayout(slice(0, max(texts)), slice(0, 1), length, batch_text, tuple(streams))


LTX2 = DitFamily(
    name="LTX-2", attention=CROSS, layout=ltx2_layout, default_parts=("video",), prepare=record_prompt_length
)
