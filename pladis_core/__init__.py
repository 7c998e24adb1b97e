"""PLADIS (Kim & Sim, ICCV 2025, arXiv 2503.07677) in pure PyTorch: α-entmax and PLADIS attention.

Nothing here imports ComfyUI.
"""

from .alpha_entmax import entmax, entmax15, sparsemax
from .cross_attention import DEFAULT_ALPHA, DEFAULT_SCALE, dense_attention, pladis_attention, pladis_attention_heads
from .joint_attention import pladis_joint_attention
from .repetition import key_repeat_counts

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_SCALE",
    "dense_attention",
    "entmax",
    "entmax15",
    "key_repeat_counts",
    "pladis_attention",
    "pladis_attention_heads",
    "pladis_joint_attention",
    "sparsemax",
]
