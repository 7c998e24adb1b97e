"""The eager PyTorch engine: PLADIS attention over chunks of query rows, for any device.

Per query chunk, one fp32 score matrix gives both maps; the weights are mixed in place and multiplied with
V once. Memory beyond q/k/v and the output is a few score chunks, whatever the image size. On accelerators
and under torch.compile, α = 1.5 and α = 2 take ``accelerator_path`` (a fixed, short sequence of kernels);
elsewhere the chunks below solve entmax with the solver ``alpha_entmax.exact_solver`` picks.
"""

from __future__ import annotations

import torch
from torch import Tensor

from . import alpha_entmax
from .accelerator_path import accelerator_attention_heads
from .alpha_entmax import compute_dtype, finite_row_max, unnormalized_entmax
from .options import EngineOptions

__all__ = [
    "ACCELERATOR_CHUNK_SCORES",
    "CHUNK_SCORES",
    "chunked_attention_heads",
    "eager_attention_heads",
    "matmul_into",
]

# Scores per query chunk (all batch elements and heads). On CPU, 8 MiB of fp32 per buffer was the fastest of
# 2^19 to 2^22; on accelerators a chunk is bounded by memory only (64 MiB per buffer), so that a layer
# is one or two chunks of a few dozen kernels.
CHUNK_SCORES = 1 << 21
ACCELERATOR_CHUNK_SCORES = 1 << 24


def eager_attention_heads(
    q: Tensor, k: Tensor, v: Tensor, alpha: float, scale: float, out: Tensor, options: EngineOptions
) -> Tensor:
    """``cross_attention.pladis_attention_heads`` in eager PyTorch (arguments as there); returns ``out``."""
    solver = alpha_entmax.exact_solver(q.device)
    if alpha in (1.5, 2.0) and solver == "sort":
        return accelerator_attention_heads(q, k, v, alpha, scale, out, options)
    return chunked_attention_heads(q, k, v, alpha, scale, out, options, solver)


def chunked_attention_heads(
    q: Tensor, k: Tensor, v: Tensor, alpha: float, scale: float, out: Tensor, options: EngineOptions, solver: str
) -> Tensor:
    """The engine over chunks of query rows, entmax by ``alpha_entmax`` with ``solver`` (one of its
    EXACT_SOLVERS) for α ∈ {1.5, 2}: the CPU path, and any α elsewhere."""
    chunk_scores = options.chunk_scores
    if chunk_scores is None:
        chunk_scores = CHUNK_SCORES if q.device.type == "cpu" else ACCELERATOR_CHUNK_SCORES
    batch, heads, n_query, dim_head = q.shape
    n_key, dim_value = k.shape[2], v.shape[-1]
    dtype = compute_dtype(q.dtype)
    key_repeats, bias, row_scale = options.key_repeats, options.bias, options.row_scale
    repeats = 1.0 if key_repeats is None else key_repeats.to(device=q.device, dtype=dtype).view(batch, 1, 1, 1)
    dense_weight = (1.0 - scale) if options.include_dense else -scale
    if bias is not None:
        bias = bias.to(dtype).reshape((1,) * (4 - bias.dim()) + tuple(bias.shape))

    keys_t = k.transpose(-1, -2).to(dtype) * dim_head**-0.5
    values = v.to(dtype)
    n_chunks = -(-batch * heads * n_query * n_key // max(chunk_scores, 1))
    rows = -(-n_query // n_chunks)
    buffers = torch.empty(3, batch * heads * rows * n_key, dtype=dtype, device=q.device)
    direct = out.dtype == dtype and row_scale is None and not options.accumulate
    out_buffer = None if direct else torch.empty(heads, rows, dim_value, dtype=dtype, device=q.device)

    for start in range(0, n_query, rows):
        n = min(rows, n_query - start)
        stop = start + n
        scores, work, weights = (buffer[: batch * heads * n * n_key].view(batch, heads, n, n_key) for buffer in buffers)
        # Per batch element the (heads, n, d) views of q and out are plain strided matrices for the GEMM.
        for b in range(batch):
            matmul_into(q[b, :, start:stop].to(dtype), keys_t[b], scores[b])
        if bias is not None:
            scores.add_(bias[..., start:stop, :] if bias.shape[-2] > 1 else bias)
        chunk_logsumexp = None
        if options.total_logsumexp is not None:
            chunk_logsumexp = options.total_logsumexp[:, :, start:stop, None]
        _pladis_weights(scores, alpha, scale, dense_weight, repeats, work, weights, chunk_logsumexp, solver)
        if bias is not None or chunk_logsumexp is not None:
            weights.nan_to_num_(nan=0.0)  # a row the mask hides entirely: 0/0
        chunk_scale = None if row_scale is None else row_scale[:, :, start:stop]
        for b in range(batch):
            destination = out[b, :, start:stop]
            if direct:
                matmul_into(weights[b], values[b], destination)
                continue
            result = matmul_into(weights[b], values[b], out_buffer[:, :n])
            if chunk_scale is not None:
                result.mul_(chunk_scale[b])
            if options.accumulate:
                destination.add_(result)
            else:
                destination.copy_(result)
    return out


def matmul_into(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """a @ b written into ``out`` (a strided view). Dynamo cannot trace matmul's ``out=`` into a
    non-contiguous view, so compiled code copies the product instead; inductor fuses the copy."""
    if torch.compiler.is_compiling():
        return out.copy_(torch.matmul(a, b))
    return torch.matmul(a, b, out=out)


def _pladis_weights(scores, alpha, scale, dense_weight, repeats, work, weights, total_logsumexp, solver) -> None:
    """Writes dense_weight·softmax(scores) + λ·entmax(scores) into ``weights``; ``work`` is scratch.

    With ``total_logsumexp`` (the rows' log-sum-exp over a larger set of keys that contains these) the dense
    weights are those of the larger softmax, d = exp(scores − total_logsumexp), and entmax is scaled by their
    row sum m, the keys' share: weights = dense_weight·d + λ·m·entmax(scores).
    """
    row_max = finite_row_max(scores)
    sparse, sparse_factor = unnormalized_entmax(scores, row_max, alpha, repeats, work, weights, solver)
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
