"""PLADIS attention: for q/k/v in ComfyUI's attn2 layout (B, N, heads·d), and per head (B, heads, N, d).

    Z = Q·Kᵀ/√d,   A = softmax(Z) + λ·(α-entmax(Z) − softmax(Z)),   out = A·V          (PLADIS eq. 15)

The scores, both maps and the product with V are computed in float32 (float64 for float64 inputs), per chunk
of query rows, by the fused Triton kernel or the eager engine (``dispatch`` chooses).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .alpha_entmax import check_alpha
from .dispatch import fused_attention_heads, use_fused_kernel
from .eager import eager_attention_heads
from .options import EngineOptions
from .repetition import key_repeat_counts

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_SCALE",
    "dense_attention",
    "pladis_attention",
    "pladis_attention_heads",
    "run_engine",
]

DEFAULT_ALPHA = 1.5
DEFAULT_SCALE = 2.0


def dense_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int) -> torch.Tensor:
    """softmax(QKᵀ/√d)·V in the (B, N, heads·d) layout, by PyTorch's fused attention."""
    b, nq, _ = q.shape
    qh, kh, vh = (t.view(b, t.shape[1], heads, -1).transpose(1, 2) for t in (q, k, v))
    return F.scaled_dot_product_attention(qh, kh, vh).transpose(1, 2).reshape(b, nq, -1)


def pladis_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    heads: int,
    alpha: float = DEFAULT_ALPHA,
    scale: float = DEFAULT_SCALE,
    *,
    include_dense: bool = True,
    key_repeats: torch.Tensor | None = None,
    chunk_scores: int | None = None,
) -> torch.Tensor:
    """PLADIS attention of q (B, Nq, heads·d) over k (B, Nk, heads·d), v (B, Nk, heads·dv).

    Returns (B, Nq, heads·dv) in v's dtype; scores, both maps and the product with V are computed in
    float32 (float64 for float64 inputs). With ``include_dense=False`` only the PLADIS correction
    λ·(entmax − softmax)·V is returned, to be added to another attention's output.

    ``key_repeats`` (B,) says how many times each element's keys repeat one period; by default it is
    detected, so that an element whose context was repeat-padded by ComfyUI gets exactly the result of
    its un-repeated context. Pass ones to switch that off. ``chunk_scores`` bounds the scores held at
    once (all batch elements and heads of a query chunk); by default it depends on the device.
    """
    check_alpha(alpha)
    if not 0 <= scale < float("inf"):
        raise ValueError(f"scale (λ) must be finite and >= 0, got {scale}")
    if scale == 0:
        if include_dense:
            return dense_attention(q, k, v, heads)
        return v.new_zeros(q.shape[0], q.shape[1], v.shape[-1])
    if key_repeats is None:
        key_repeats = key_repeat_counts(k)
    batch, n_query, _ = q.shape
    out = torch.empty(batch, n_query, v.shape[-1], dtype=v.dtype, device=v.device)
    pladis_attention_heads(
        *(t.view(batch, t.shape[1], heads, -1).transpose(1, 2) for t in (q, k, v)),
        alpha,
        scale,
        out=out.view(batch, n_query, heads, -1).transpose(1, 2),
        include_dense=include_dense,
        key_repeats=key_repeats,
        chunk_scores=chunk_scores,
    )
    return out


def pladis_attention_heads(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, alpha: float, scale: float, *, out: torch.Tensor, **options
) -> torch.Tensor:
    """The engine: q (B, H, Nq, d), k (B, H, Nk, d), v (B, H, Nk, dv), views of any strides; writes ``out``.

    ``out`` (B, H, Nq, dv), any dtype and strides, receives PLADIS attention (or, with ``include_dense=False``,
    the correction λ·(entmax − softmax)·V), multiplied per query row by ``row_scale`` (B, H, Nq, 1) if given;
    with ``accumulate`` it is added to ``out`` instead. ``total_logsumexp`` (B, H, Nq) is each row's log-sum-exp
    over a larger set of keys that contains these (joint attention): the dense weights are then those of the
    larger softmax and entmax is scaled by these keys' share of it. ``bias`` is an additive attention mask
    broadcastable to (B, H, Nq, Nk). ``key_repeats`` (B,) as in ``pladis_attention``; None means no repetition.
    ``chunk_scores`` as there. The options are those of ``EngineOptions``. On CUDA/ROCm the fused Triton
    kernel computes it when it can (``dispatch``), the eager engine (``eager``) otherwise.
    """
    return run_engine(q, k, v, alpha, scale, out, EngineOptions(**options))


def run_engine(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, alpha: float, scale: float, out: torch.Tensor, options
) -> torch.Tensor:
    """``pladis_attention_heads`` with its options as one ``EngineOptions``."""
    if use_fused_kernel(q, k, v, out):
        return fused_attention_heads(q, k, v, alpha, scale, out, options)
    return eager_attention_heads(q, k, v, alpha, scale, out, options)
