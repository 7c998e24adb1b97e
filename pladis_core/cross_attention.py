"""PLADIS cross-attention for q/k/v in ComfyUI's attn2 layout (B, N, heads·d).

    Z = Q·Kᵀ/√d,   A = softmax(Z) + λ·(α-entmax(Z) − softmax(Z)),   out = A·V          (PLADIS eq. 15)

Per query chunk, one fp32 score matrix gives both maps; the weights are mixed in place and multiplied with
V once. Memory beyond q/k/v and the output is a few score chunks, whatever the image size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .alpha_entmax import check_alpha, compute_dtype, finite_row_max, unnormalized_entmax
from .repetition import key_repeat_counts

__all__ = ["DEFAULT_ALPHA", "DEFAULT_SCALE", "pladis_attention", "dense_attention"]

DEFAULT_ALPHA = 1.5
DEFAULT_SCALE = 2.0
# Scores per query chunk (all batch elements and heads). On CPU, 8 MiB of fp32 per buffer was the fastest of
# 2^19 to 2^22; on accelerators a chunk is bounded by memory only (64 MiB per buffer), so that a layer
# is one or two chunks of a few dozen kernels.
CHUNK_SCORES = 1 << 21
ACCELERATOR_CHUNK_SCORES = 1 << 24


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
    if scale < 0:
        raise ValueError(f"scale (λ) must be >= 0, got {scale}")
    if scale == 0:
        if include_dense:
            return dense_attention(q, k, v, heads)
        return v.new_zeros(q.shape[0], q.shape[1], v.shape[-1])

    batch, n_query, inner = q.shape
    n_key = k.shape[1]
    dim_head, dim_value = inner // heads, v.shape[-1] // heads
    dtype = compute_dtype(q.dtype)

    if key_repeats is None:
        key_repeats = key_repeat_counts(k)
    repeats = key_repeats.to(device=q.device, dtype=dtype).view(batch, 1, 1, 1)
    dense_weight = (1.0 - scale) if include_dense else -scale

    keys_t = k.view(batch, n_key, heads, dim_head).permute(0, 2, 3, 1).to(dtype) * dim_head**-0.5
    values = v.view(batch, n_key, heads, dim_value).transpose(1, 2).to(dtype)
    out = torch.empty(batch, n_query, heads, dim_value, dtype=v.dtype, device=v.device)
    if chunk_scores is None:
        chunk_scores = CHUNK_SCORES if q.device.type == "cpu" else ACCELERATOR_CHUNK_SCORES
    n_chunks = -(-batch * heads * n_query * n_key // max(chunk_scores, 1))
    rows = -(-n_query // n_chunks)
    buffers = torch.empty(3, batch * heads * rows * n_key, dtype=dtype, device=q.device)
    out_buffer = None if out.dtype == dtype else torch.empty(heads, rows, dim_value, dtype=dtype, device=q.device)

    for start in range(0, n_query, rows):
        n = min(rows, n_query - start)
        scores, work, weights = (buffer[: batch * heads * n * n_key].view(batch, heads, n, n_key) for buffer in buffers)
        # Per batch element the (heads, n, d) views of q and out are plain strided matrices for the GEMM.
        for b in range(batch):
            queries = q[b, start : start + n].view(n, heads, dim_head).transpose(0, 1).to(dtype)
            torch.matmul(queries, keys_t[b], out=scores[b])
        _pladis_weights(scores, alpha, scale, dense_weight, repeats, work, weights)
        for b in range(batch):
            destination = out[b, start : start + n].transpose(0, 1)
            if out_buffer is None:
                torch.matmul(weights[b], values[b], out=destination)
            else:
                destination.copy_(torch.matmul(weights[b], values[b], out=out_buffer[:, :n]))
    return out.view(batch, n_query, heads * dim_value)


def _pladis_weights(scores, alpha, scale, dense_weight, repeats, work, weights) -> None:
    """Writes dense_weight·softmax(scores) + λ·entmax(scores) into ``weights``; ``work`` is scratch."""
    sparse, sparse_factor = unnormalized_entmax(scores, finite_row_max(scores), alpha, repeats, work, weights)
    torch.ops.aten._softmax.out(scores, -1, False, out=weights)
    weights.mul_(dense_weight).addcmul_(sparse, scale * sparse_factor)
