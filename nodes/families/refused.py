"""Families PLADIS refuses on purpose, each with the reason (shown in the node's error and in the README).

LTX-2 (``LTXAVModel``): its video and audio streams attend to the text through the model's embeddings
connectors, which ComfyUI runs in ``extra_conds``, before the model call: they append learned register tokens
to the prompt's tokens up to 1024 and mix both in their own attention layers. The model call receives the
connected context only; nothing in it says where the prompt's tokens end and the registers (filler the model
inserts) begin, so PLADIS cannot choose the text keys honestly.
"""

from __future__ import annotations

REFUSED = {
    "LTXAVModel": (
        "LTX-2's embeddings connector pads the prompt with learned register tokens to 1024 before the model call, "
        "and the model call does not say where the prompt's tokens end, so its text keys cannot be told from "
        "that filler"
    ),
}
