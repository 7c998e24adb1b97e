"""Families PLADIS refuses on purpose, each with the reason (shown in the node's error and in the README).

Causal Wan (``CausalWanModel``, Wan 2.1 for autoregressive Causal Forcing): ComfyUI's ``ar_video`` sampler, the one
it is made for, puts an ``ar_state`` in the transformer options and the model then runs its blocks frame block by
frame block without passing ``transformer_options`` on, so none of its attention calls reach the attention
override (after the first call its text cross-attention also reuses cached keys). PLADIS would do nothing there.

LTX-2, refused in an earlier release because its model call does not say where the prompt ends, is described in
``ltx2`` (its prompt length is recorded before the connector).
"""

from __future__ import annotations

REFUSED = {
    "CausalWanModel": (
        "Causal Wan's autoregressive path (the ar_video sampler it is made for) runs its blocks without "
        "transformer_options, so its text cross-attention never reaches the attention override PLADIS works through"
    ),
}
