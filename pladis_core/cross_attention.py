"""PLADIS attention: for q/k/v in ComfyUI's attn2 layout (B, N, heads·d), and per head (B, heads, N, d).

    Z = Q·Kᵀ/√d,   A = softmax(Z) + λ·(α-entmax(Z) − softmax(Z)),   out = A·V          (PLADIS eq. 15)

Per query chunk, one fp32 score matrix gives both maps; the weights are mixed in place and multiplied with
V once. Memory beyond q/k/v and the output is a few score chunks, whatever the image size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .alpha_entmax import check_alpha, compute_dtype, finite_row_max, unnormalized_entmax
from .dispatch import fused_attention_heads, use_fused_kernel
from .repetition import key_repeat_counts

__all__ = ["DEFAULT_ALPHA", "DEFAULT_SCALE", "dense_attention", "pladis_attention", "pladis_attention_heads"]

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
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    alpha: float,
    scale: float,
    *,
    out: torch.Tensor,
    include_dense: bool = True,
    key_repeats: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    row_scale: torch.Tensor | None = None,
    total_logsumexp: torch.Tensor | None = None,
    accumulate: bool = False,
    chunk_scores: int | None = None,
) -> torch.Tensor:
    """The engine: q (B, H, Nq, d), k (B, H, Nk, d), v (B, H, Nk, dv), views of any strides; writes ``out``.

    ``out`` (B, H, Nq, dv), any dtype and strides, receives PLADIS attention (or, with ``include_dense=False``,
    the correction λ·(entmax − softmax)·V), multiplied per query row by ``row_scale`` (B, H, Nq, 1) if given;
    with ``accumulate`` it is added to ``out`` instead. ``total_logsumexp`` (B, H, Nq) is each row's log-sum-exp
    over a larger set of keys that contains these (joint attention): the dense weights are then those of the
    larger softmax and entmax is scaled by these keys' share of it. ``bias`` is an additive attention mask
    broadcastable to (B, H, Nq, Nk). ``key_repeats`` (B,) as in ``pladis_attention``; None means no repetition.
    On CUDA/ROCm the fused Triton kernel computes it when it can (``dispatch``).
    """
    if use_fused_kernel(q, k, v, out):
        return fused_attention_heads(
            q, k, v, alpha, scale, out=out, include_dense=include_dense, key_repeats=key_repeats, bias=bias,
            row_scale=row_scale, total_logsumexp=total_logsumexp, accumulate=accumulate,
        )  # fmt: skip
    batch, heads, n_query, dim_head = q.shape
    n_key, dim_value = k.shape[2], v.shape[-1]
    dtype = compute_dtype(q.dtype)
    repeats = 1.0 if key_repeats is None else key_repeats.to(device=q.device, dtype=dtype).view(batch, 1, 1, 1)
    dense_weight = (1.0 - scale) if include_dense else -scale
    if bias is not None:
        bias = bias.to(dtype).reshape((1,) * (4 - bias.dim()) + tuple(bias.shape))

    keys_t = k.transpose(-1, -2).to(dtype) * dim_head**-0.5
    values = v.to(dtype)
    if chunk_scores is None:
        chunk_scores = CHUNK_SCORES if q.device.type == "cpu" else ACCELERATOR_CHUNK_SCORES
    n_chunks = -(-batch * heads * n_query * n_key // max(chunk_scores, 1))
    rows = -(-n_query // n_chunks)
    buffers = torch.empty(3, batch * heads * rows * n_key, dtype=dtype, device=q.device)
    direct = out.dtype == dtype and row_scale is None and not accumulate
    out_buffer = None if direct else torch.empty(heads, rows, dim_value, dtype=dtype, device=q.device)

    for start in range(0, n_query, rows):
        n = min(rows, n_query - start)
        stop = start + n
        scores, work, weights = (buffer[: batch * heads * n * n_key].view(batch, heads, n, n_key) for buffer in buffers)
        # Per batch element the (heads, n, d) views of q and out are plain strided matrices for the GEMM.
        for b in range(batch):
            _matmul_into(q[b, :, start:stop].to(dtype), keys_t[b], scores[b])
        if bias is not None:
            scores.add_(bias[..., start:stop, :] if bias.shape[-2] > 1 else bias)
        chunk_logsumexp = None if total_logsumexp is None else total_logsumexp[:, :, start:stop, None]
        _pladis_weights(scores, alpha, scale, dense_weight, repeats, work, weights, chunk_logsumexp)
        if bias is not None or chunk_logsumexp is not None:
            weights.nan_to_num_(nan=0.0)  # a row the mask hides entirely: 0/0
        chunk_scale = None if row_scale is None else row_scale[:, :, start:stop]
        for b in range(batch):
            destination = out[b, :, start:stop]
            if direct:
                _matmul_into(weights[b], values[b], destination)
                continue
            result = _matmul_into(weights[b], values[b], out_buffer[:, :n])
            if chunk_scale is not None:
                result.mul_(chunk_scale[b])
            if accumulate:
                destination.add_(result)
            else:
                destination.copy_(result)
    return out


def _matmul_into(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """a @ b written into ``out`` (a strided view). Dynamo cannot trace matmul's ``out=`` into a
    non-contiguous view, so compiled code copies the product instead; inductor fuses the copy."""
    if torch.compiler.is_compiling():
        return out.copy_(torch.matmul(a, b))
    return torch.matmul(a, b, out=out)


def _pladis_weights(scores, alpha, scale, dense_weight, repeats, work, weights, total_logsumexp=None) -> None:
    """Writes dense_weight·softmax(scores) + λ·entmax(scores) into ``weights``; ``work`` is scratch.

    With ``total_logsumexp`` (the rows' log-sum-exp over a larger set of keys that contains these) the dense
    weights are those of the larger softmax, d = exp(scores − total_logsumexp), and entmax is scaled by their
    row sum m, the keys' share: weights = dense_weight·d + λ·m·entmax(scores).
    """
    row_max = finite_row_max(scores)
    sparse, sparse_factor = unnormalized_entmax(scores, row_max, alpha, repeats, work, weights)
    sparse_weight = scale * sparse_factor
    if total_logsumexp is None:
        torch.ops.aten._softmax.out(scores, -1, False, out=weights)
        weights.mul_(dense_weight)
    else:
        # d = exp(scores − max)·exp(max − total), the second factor per row.
        row_factor = (row_max - total_logsumexp).exp_()
        torch.sub(scores, row_max, out=weights).exp_()
        sparse_weight = sparse_weight * row_factor * weights.sum(dim=-1, keepdim=True)
        weights.mul_(row_factor * dense_weight)
    if torch.is_tensor(sparse_weight):
        weights.addcmul_(sparse, sparse_weight)
    else:
        weights.add_(sparse, alpha=sparse_weight)
