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
# Scores per chunk (all heads): 4 MiB of fp32 per buffer; measured fastest on CPU (2^18 to 2^21 tried).
CHUNK_SCORES = 1 << 20


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
    chunk_scores: int = CHUNK_SCORES,
) -> torch.Tensor:
    """PLADIS attention of q (B, Nq, heads·d) over k (B, Nk, heads·d), v (B, Nk, heads·dv).

    Returns (B, Nq, heads·dv) in v's dtype; scores, both maps and the product with V are computed in
    float32 (float64 for float64 inputs). With ``include_dense=False`` only the PLADIS correction
    λ·(entmax − softmax)·V is returned, to be added to another attention's output.

    ``key_repeats`` (B,) says how many times each element's keys repeat one period; by default it is
    detected, so that an element whose context was repeat-padded by ComfyUI gets exactly the result of
    its un-repeated context. Pass ones to switch that off.
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
    key_repeats = key_repeats.to(device=q.device, dtype=dtype)
    dense_weight = (1.0 - scale) if include_dense else -scale

    keys_t = (k.view(batch, n_key, heads, dim_head).permute(0, 2, 3, 1).to(dtype)) * dim_head**-0.5
    values = v.view(batch, n_key, heads, dim_value).transpose(1, 2).to(dtype)
    out = torch.empty(batch, n_query, heads * dim_value, dtype=v.dtype, device=v.device)
    n_chunks = -(-n_query * heads * n_key // max(chunk_scores, 1))
    rows = -(-n_query // n_chunks)
    buffers = torch.empty(3, heads * rows * n_key, dtype=dtype, device=q.device)
    out_buffer = torch.empty(heads * rows * dim_value, dtype=dtype, device=q.device)

    for b in range(batch):
        for start in range(0, n_query, rows):
            stop = min(start + rows, n_query)
            scores, work, weights = (
                buffer[: heads * (stop - start) * n_key].view(heads, -1, n_key) for buffer in buffers
            )
            queries = q[b, start:stop].view(stop - start, heads, dim_head).transpose(0, 1).to(dtype)
            torch.matmul(queries, keys_t[b], out=scores)
            _pladis_weights(scores, alpha, scale, dense_weight, key_repeats[b], work, weights)
            chunk_out = torch.matmul(
                weights, values[b], out=out_buffer[: weights.shape[1] * heads * dim_value].view(heads, -1, dim_value)
            )
            out[b, start:stop].view(stop - start, heads, dim_value).copy_(chunk_out.transpose(0, 1))
    return out


def _pladis_weights(scores, alpha, scale, dense_weight, repeats, work, weights) -> None:
    """Writes dense_weight·softmax(scores) + λ·entmax(scores) into ``weights``; ``work`` is scratch."""
    sparse, sparse_factor = unnormalized_entmax(scores, finite_row_max(scores), alpha, repeats, work, weights)
    torch.ops.aten._softmax.out(scores, -1, False, out=weights)
    weights.mul_(dense_weight).addcmul_(sparse, scale * sparse_factor)
