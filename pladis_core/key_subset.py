"""PLADIS over a per-element subset of the keys, the other keys keeping their dense weights.

A cross-attention whose key sequence mixes text with filler the model inserted (HunyuanDiT replaces the
prompt's padding positions by learned padding embeddings) is the joint formula with T = the text keys of
each batch element and every query row changed (see ``joint_attention``):

    A[r, T] = dense[r, T] + λ·(m_r·α-entmax(Z_T) − dense[r, T]),   m_r = Σ_{j ∈ T} dense[r, j]

Filler columns keep dense[r, j]; each row still sums to 1. With T = all keys this is plain PLADIS (m_r = 1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .alpha_entmax import check_alpha, compute_dtype
from .cross_attention import pladis_attention_heads
from .joint_attention import logsumexp_over_keys


def pladis_attention_on_keys(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    text_keys: torch.Tensor,
    alpha: float,
    scale: float,
) -> torch.Tensor:
    """q (B, H, Nq, d), k (B, H, Nk, d), v (B, H, Nk, dv); ``text_keys`` (B, Nk) bool, True for the keys PLADIS
    sharpens. Returns (B, H, Nq, dv) in float32 or wider (the dense part by PyTorch's attention)."""
    check_alpha(alpha)
    dtype = compute_dtype(q.dtype)
    q, k, v = (t.to(dtype) for t in (q, k, v))
    out = F.scaled_dot_product_attention(q, k, v)
    if scale == 0:
        return out
    filler = torch.zeros(text_keys.shape, dtype=dtype, device=q.device).masked_fill_(~text_keys.bool(), float("-inf"))
    pladis_attention_heads(
        q,
        k,
        v,
        alpha,
        scale,
        out=out,
        include_dense=False,
        bias=filler[:, None, None, :],
        total_logsumexp=logsumexp_over_keys(q, k),
        accumulate=True,
    )
    return out
