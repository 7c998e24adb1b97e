"""The eager engine for α ∈ {1.5, 2} where reading a value on the host stalls the device (GPU, MPS, XPU) or
breaks a graph (torch.compile): a fixed sequence of kernels per chunk of query rows, with no host read.

With S = QKᵀ/√d (+ bias) per chunk, β = 1/(α−1) and R the row's target mass (``alpha_entmax``):

    x = S sorted along the row, descending, minus its first entry (x₁ = 0 ≥ x₂ ≥ …)
    g_k = Σ_{j≤k} (x_j − x_k)^β = C2_k − 2·x_k·C1_k + k·x_k²   (β = 2)      C1, C2: prefix sums of x, x²
        = C1_k − k·x_k                                        (β = 1)
    s = #{k : g_k < R}   (g is nondecreasing: one binary search per row)          the support's size
    σ = the closed form on the top s: (C1_s − R)/s, or mean − √((R − Σ(x − mean)²)/s)

(Peters et al. 2019, Alg. 2, with its test σ_k ≤ x_k squared out.) The weights and the output are then

    W = softmax(S) + c·[S − σ]_+^β,   c = λ/(R·w),   out = W·(w·V)·(row factor)

with w the dense weight (1 − λ, or −λ for the correction alone), folded into V so that no pass scales W.
Joint attention's rows (``total_logsumexp``) are the same weights times the keys' share of the larger softmax,
exp(logsumexp(S) − total), a factor per output row. Rows that a mask hides entirely are zeroed on the output.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .alpha_entmax import compute_dtype
from .options import EngineOptions

__all__ = ["CHUNK_SCORES", "accelerator_attention_heads", "sorted_threshold"]

# Scores per query chunk (all batch elements and heads): a Flux image × text block at 1024² (24 heads,
# 4096 × 512) is one chunk. About 24 bytes of temporaries per score at the peak (1.6 GiB for a full chunk).
CHUNK_SCORES = 1 << 26


def sorted_threshold(scores: torch.Tensor, beta: int, mass, masked: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(σ, whether each row has a finite score) with α-entmax(scores) = [scores − σ]_+^β / R along the last
    dimension, for β ∈ {1, 2}, exact up to rounding; ``mass`` is R (a float or a tensor broadcastable to
    ``scores[..., :1]``). ``masked``: the scores may hold −inf (keys a mask hides); without it the second
    value is None. A row without a finite score gets no support."""
    n = scores.shape[-1]
    x = scores.sort(dim=-1, descending=True).values
    top = x[..., :1]
    visible = torch.isfinite(top) if masked else None
    # For β = 2 the prefix sums of squares need values next to the row's maximum (no cancellation):
    # x − max. For β = 1, Σ_{j≤k} x_j − k·x_k loses no more than the scores' own rounding.
    row_max = (torch.where(visible, top, 0.0) if masked else top.clone()) if beta == 2 or masked else None
    if beta == 2:
        x.sub_(row_max)
    if masked:
        # σ ≥ max − R^(1/β): lower keys never enter the support; flooring them (and −inf) keeps the sums finite.
        floor = (0.0 if beta == 2 else row_max) - mass ** (1.0 / beta) - 1.0
        x = torch.maximum(x, floor) if torch.is_tensor(floor) else x.clamp_(min=floor)
    k = torch.arange(1, n + 1, dtype=x.dtype, device=x.device)
    prefix = x.cumsum(dim=-1)
    if beta == 1:
        spent = torch.addcmul(prefix, x, k, value=-1.0)
    else:
        # In place on the prefix sums of squares: one buffer fewer.
        squares = x * x
        spent = squares.cumsum(dim=-1).addcmul_(x, prefix, value=-2.0).addcmul_(squares, k)
        del squares
    target = torch.as_tensor(mass, dtype=x.dtype, device=x.device).expand(*x.shape[:-1], 1).contiguous()
    support = torch.searchsorted(spent, target).clamp_(1, n)
    last = support - 1
    count = support.to(x.dtype)
    top_sum = prefix.gather(-1, last)
    if beta == 1:
        return (top_sum - mass) / count, visible
    mean = top_sum / count
    # Σ_{j≤s} x_j² = g_s + x_s·(2·Σx_j − s·x_s), since g_s = Σ_{j≤s} (x_j − x_s)²; then R − Σ (x_j − mean)².
    smallest = x.gather(-1, last)
    sum_squares = torch.addcmul(spent.gather(-1, last), smallest, torch.addcmul(2 * top_sum, count, smallest, value=-1))
    room = torch.addcmul(mass - sum_squares, top_sum, mean)
    return mean.add_(row_max) - room.clamp_(min=0).div_(count).sqrt_(), visible


def accelerator_attention_heads(
    q: Tensor, k: Tensor, v: Tensor, alpha: float, scale: float, out: Tensor, options: EngineOptions
) -> Tensor:
    """``cross_attention.pladis_attention_heads`` for α ∈ {1.5, 2} (arguments as there); returns ``out``."""
    batch, heads, n_query, dim_head = q.shape
    n_key = k.shape[2]
    dtype = compute_dtype(q.dtype)
    beta = 2 if alpha == 1.5 else 1
    mass = (alpha - 1.0) ** -beta
    if options.key_repeats is not None:
        mass = options.key_repeats.to(device=q.device, dtype=dtype).view(batch, 1, 1, 1) * mass
    bias = options.bias
    if bias is not None:
        bias = bias.to(dtype).reshape((1,) * (4 - bias.dim()) + tuple(bias.shape))
    dense_weight = (1.0 - scale) if options.include_dense else -scale
    # out = W·(w·V): with w = 0 (λ = 1, pure entmax) V carries λ and W is the sparse part alone.
    value_weight = dense_weight if dense_weight != 0 else scale
    sparse_weight = (scale / value_weight if dense_weight != 0 else 1.0) / mass
    sign = 1.0 if value_weight > 0 else -1.0
    root = abs(sparse_weight) ** (1.0 / beta)  # c·[S − σ]_+^β = ±[root·(S − σ)]_+^β

    keys_t = k.transpose(-1, -2).to(dtype) * dim_head**-0.5
    values = v.to(dtype) * value_weight
    chunk_scores = CHUNK_SCORES if options.chunk_scores is None else max(options.chunk_scores, 1)
    rows = -(-n_query // -(-batch * heads * n_query * n_key // chunk_scores))
    for start in range(0, n_query, rows):
        stop = min(n_query, start + rows)
        scores = torch.matmul(q[:, :, start:stop].to(dtype), keys_t)
        if bias is not None:
            scores.add_(bias[..., start:stop, :] if bias.shape[-2] > 1 else bias)
        sigma, visible = sorted_threshold(scores, beta, mass, masked=bias is not None)
        weights = torch.empty_like(scores)
        sparse = weights if dense_weight == 0 else None
        if torch.is_tensor(root):
            sparse = torch.addcmul(sigma.mul_(-root), scores, root, out=sparse)
        else:
            sparse = torch.add(sigma.mul_(-root), scores, alpha=root, out=sparse)
        sparse.clamp_(min=0)
        if dense_weight == 0:
            if beta == 2:
                weights.mul_(weights)
        else:
            torch.ops.aten._softmax.out(scores, -1, False, out=weights)
            if beta == 2:
                weights.addcmul_(sparse, sparse, value=sign)
            else:
                weights.add_(sparse, alpha=sign)
        result = torch.matmul(weights, values)
        factor = _row_factor(scores, options, start, stop)
        _write_rows(out[:, :, start:stop], result, factor, visible, options.accumulate)
    return out


def _row_factor(scores, options: EngineOptions, start: int, stop: int) -> torch.Tensor | None:
    """What each output row is multiplied by: ``row_scale`` and the joint keys' share of the larger softmax;
    None when that is 1 everywhere."""
    factor = None if options.row_scale is None else options.row_scale[:, :, start:stop].to(scores.dtype)
    if options.total_logsumexp is not None:
        total = options.total_logsumexp[:, :, start:stop, None]
        share = (torch.logsumexp(scores, dim=-1, keepdim=True) - total).exp_()
        factor = share if factor is None else factor * share
    return factor


def _write_rows(destination, result, factor, visible, accumulate: bool) -> None:
    """Stores (or adds) result·factor; rows that are not ``visible`` (all keys masked: 0/0) get 0."""
    if factor is not None:
        result = result.mul_(factor)
    if visible is not None:
        result = torch.where(visible, result, 0.0)
    if accumulate:
        destination.add_(result)
    else:
        destination.copy_(result)
