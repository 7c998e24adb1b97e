"""Families PLADIS refuses on purpose, each with the reason (shown in the node's error and in the README).

LTX-2 (``LTXAVModel``): its video and audio streams attend to the text through the model's embeddings
connectors, which ComfyUI runs in ``extra_conds``, before the model call: they append learned register tokens
to the prompt's tokens up to 1024 and mix both in their own attention layers. The model call receives the
connected context only; nothing in it says where the prompt's tokens end and the registers (filler the model
inserts) begin, so PLADIS cannot choose the text keys honestly.

Causal Wan (``CausalWanModel``, Wan 2.1 for autoregressive Causal Forcing): ComfyUI's ``ar_video`` sampler, the one
it is made for, puts an ``ar_state`` in the transformer options and the model then runs its blocks frame block by
frame block without passing ``transformer_options`` on, so none of its attention calls reach the attention
override (after the first call its text cross-attention also reuses cached keys). PLADIS would do nothing there.
"""

from __future__ import annotations

REFUSED = {
    "LTXAVModel": (
        "LTX-2's embeddings connector pads the prompt with learned register tokens to 1024 before the model call, "
        "and the model call does not say where the prompt's tokens end, so its text keys cannot be told from "
        "that filler"
    ),
    "CausalWanModel": (
        "Causal Wan's autoregressive path (the ar_video sampler it is made for) runs its blocks without "
        "transformer_options, so its text cross-attention never reaches the attention override PLADIS works through"
    ),
}
