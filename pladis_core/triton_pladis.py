"""PLADIS attention as one fused Triton kernel (PLADIS eq. 15), for rows of keys that fit on chip.

One program per block of query rows and per (batch element, head), in the style of the Triton tutorials'
fused attention, except that the whole row of keys is on chip at once (entmax needs the full row):

    S = Q·Kᵀ/√d (+ bias)                     fp32, in registers, never written out
    D = softmax(S)                           or exp(S − total_logsumexp) in joint attention
    E = α-entmax(S)                          threshold solved in registers (see alpha_entmax.py for the units)
    out = (dense_weight·D + λ·share·E)·V     written in out's dtype (or added to it), times row_scale

α = 1.5 and α = 2 are exact: bisection and Newton steps from the left of the threshold, the closed form on
the support they found, and a check that the closed form gives that support back; rows that fail it take
more Newton steps. Other α: bisection, then renormalisation. ``INTERPRETED`` tells whether this module was
imported under Triton's CPU interpreter (``TRITON_INTERPRET=1``, read by Triton when the kernel is defined).

Importing this module needs Triton; ``pladis_core.dispatch`` imports it only when it is available.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

__all__ = ["INTERPRETED", "TRITON_VERSION", "is_compile_error", "pladis_attention_heads_fused"]

TRITON_VERSION = ".".join(triton.__version__.split(".")[:2])

BISECTION_STEPS = 6
NEWTON_STEPS = 3
REFINE_STEPS = 8
GENERAL_ALPHA_BISECTION_STEPS = 30
# The interpreter runs one program at a time, so fewer, larger programs are much faster there.
INTERPRETER_BLOCK_M = 128
# Tile overrides for tuning on a GPU (bench/gpu_suite.py sweeps them); None = the defaults below.
BLOCK_M_OVERRIDE: int | None = None
NUM_WARPS_OVERRIDE: int | None = None
# The smallest normal fp32, a floor against division by zero. Float literals must stay in fp32's normal range:
# Triton types a Python float outside it (1e-38, say) as fp64, which Triton 3.2–3.6 then propagate (no
# kernel compiles; the interpreter turns fp64 → bf16 casts into zeros).
FP32_TINY = tl.constexpr(2.0**-126)


@triton.jit
def _exact_finish(x, lo, mass, BETA: tl.constexpr):
    """The closed-form threshold on the support {x > lo}; (σ, whether it gives that support back)."""
    t = tl.maximum(x - lo[:, None], 0.0)
    sum_t = tl.sum(t, 1)
    count = tl.sum((t > 0).to(tl.float32), 1)
    if BETA == 1:
        step = (sum_t - mass) / tl.maximum(count, 1.0)
    else:
        # Smaller root δ of  k·δ² − 2·Σt·δ + Σt² − R = 0, in the cancellation-free form.
        excess = tl.sum(t * t, 1) - mass
        root = tl.sqrt(tl.maximum(sum_t * sum_t - count * excess, 0.0))
        step = excess / tl.maximum(sum_t + root, 1e-30)
    sigma = tl.where(count > 0, lo + step, lo)
    count_after = tl.sum((x > sigma[:, None]).to(tl.float32), 1)
    return sigma, count_after != count


@triton.jit
def _newton_step(x, lo, mass, BETA: tl.constexpr):
    """One Newton step on f(σ) = Σ[x − σ]_+^β − R from the left: never overshoots (f convex, decreasing)."""
    t = tl.maximum(x - lo[:, None], 0.0)
    if BETA == 1:
        return lo + (tl.sum(t, 1) - mass) / tl.maximum(tl.sum((t > 0).to(tl.float32), 1), 1.0)
    return lo + (tl.sum(t * t, 1) - mass) / (2.0 * tl.maximum(tl.sum(t, 1), 1e-30))


@triton.jit
def _load_tile(base, rows, stride_row, rows_ok, cols, stride_col, cols_ok):
    """The (rows × cols) tile at ``base``, zeros where a row or column is out of range."""
    return tl.load(
        base + rows[:, None] * stride_row + cols[None, :] * stride_col,
        mask=rows_ok[:, None] & cols_ok[None, :],
        other=0.0,
    )


@triton.jit
def _power(t, beta):
    """t^β for t ≥ 0."""
    return tl.where(t > 0, tl.exp2(beta * tl.log2(tl.maximum(t, FP32_TINY))), 0.0)


@triton.jit
def _entmax_threshold(x, zero_row, mass_unit, repeats, alpha_minus_one, beta, n_key, BETA: tl.constexpr,
                      BISECTION: tl.constexpr, NEWTON: tl.constexpr, REFINE: tl.constexpr):  # fmt: skip
    """(σ, R) per row, α-entmax(x) = [x − σ]_+^β / R, for rows x with max 0 (−inf where masked) whose keys
    each repeat ``repeats`` times (alpha_entmax.py). For other α (BETA = 0), σ is in units of (α−1)·x."""
    if BETA == 0:
        # Any α, in units of u = (α−1)·x, where the target mass is the repeat count.
        u = x * alpha_minus_one
        lo = zero_row - tl.exp2(tl.log2(repeats) / beta)
        hi = zero_row - tl.exp2(tl.log2(repeats / n_key) / beta)
        for _ in range(BISECTION):
            mid = (lo + hi) * 0.5
            above = tl.sum(_power(tl.maximum(u - mid[:, None], 0.0), beta), 1) >= repeats
            lo = tl.where(above, mid, lo)
            hi = tl.where(above, hi, mid)
        # Renormalised: R is the row's actual sum.
        return lo, tl.maximum(tl.sum(_power(tl.maximum(u - lo[:, None], 0.0), beta), 1), FP32_TINY)
    mass = repeats * mass_unit
    if BETA == 1:
        lo = zero_row - mass
        hi = zero_row - mass / n_key
    else:
        lo = zero_row - tl.sqrt(mass)
        hi = zero_row - tl.sqrt(mass / n_key)
    for _ in range(BISECTION):
        mid = (lo + hi) * 0.5
        t = tl.maximum(x - mid[:, None], 0.0)
        if BETA == 2:
            t = t * t
        above = tl.sum(t, 1) >= mass
        lo = tl.where(above, mid, lo)
        hi = tl.where(above, hi, mid)
    for _ in range(NEWTON):
        lo = _newton_step(x, lo, mass, BETA)
    sigma, wrong = _exact_finish(x, lo, mass, BETA)
    rounds = 0
    while (tl.max(wrong.to(tl.int32), 0) > 0) & (rounds < REFINE):
        lo = tl.where(wrong, _newton_step(x, lo, mass, BETA), lo)
        new_sigma, new_wrong = _exact_finish(x, lo, mass, BETA)
        sigma = tl.where(wrong, new_sigma, sigma)
        wrong = wrong & new_wrong
        rounds += 1
    # A row still unresolved (keys within rounding of the threshold) is renormalised instead.
    norm = zero_row + mass
    if tl.max(wrong.to(tl.int32), 0) > 0:
        p = tl.maximum(x - sigma[:, None], 0.0)
        if BETA == 2:
            p = p * p
        norm = tl.where(wrong, tl.maximum(tl.sum(p, 1), FP32_TINY), norm)
    return sigma, norm


@triton.jit
def _pladis_kernel(
    Q, K, V, Out, Repeats, Bias, RowScale, TotalLse,
    stride_qb, stride_qh, stride_qm, stride_qd,
    stride_kb, stride_kh, stride_kn, stride_kd,
    stride_vb, stride_vh, stride_vn, stride_vd,
    stride_ob, stride_oh, stride_om, stride_od,
    stride_bb, stride_bh, stride_bm, stride_bn,
    stride_rb, stride_rh, stride_rm,
    stride_lb, stride_lh, stride_lm,
    heads, n_query, n_key, dim_head, dim_value,
    sm_scale, dense_weight, sparse_weight, mass_unit, alpha_minus_one, beta,
    BETA: tl.constexpr, HAS_BIAS: tl.constexpr, HAS_ROW_SCALE: tl.constexpr,
    HAS_TOTAL_LSE: tl.constexpr, ACCUMULATE: tl.constexpr, PV_MODE: tl.constexpr, DOT_IN_FP32: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_DK: tl.constexpr,
    BLOCK_DV: tl.constexpr, BLOCK_DVK: tl.constexpr,
    BISECTION: tl.constexpr, NEWTON: tl.constexpr, REFINE: tl.constexpr,
):  # fmt: skip
    pid_m = tl.program_id(0)
    pid_bh = tl.program_id(1)
    b = (pid_bh // heads).to(tl.int64)
    h = (pid_bh % heads).to(tl.int64)
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    row_ok = offs_m < n_query
    key_ok = offs_n < n_key

    # S = Q·Kᵀ, the head dimension in slices so that a K slice stays small on chip.
    # 64-bit offsets to the (batch, head) slice, 32-bit ones inside it (dispatch checks they fit):
    # tiles of 64-bit pointers would take most of the registers.
    q_base = Q + b * stride_qb + h * stride_qh
    k_base = K + b * stride_kb + h * stride_kh
    scores = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for d0 in tl.static_range(0, BLOCK_D, BLOCK_DK):
        offs_d = d0 + tl.arange(0, BLOCK_DK)
        d_ok = offs_d < dim_head
        q = _load_tile(q_base, offs_m, stride_qm, row_ok, offs_d, stride_qd, d_ok)
        k = _load_tile(k_base, offs_d, stride_kd, d_ok, offs_n, stride_kn, key_ok)  # Kᵀ's tile
        if DOT_IN_FP32:
            q, k = q.to(tl.float32), k.to(tl.float32)
        scores = tl.dot(q, k, scores, input_precision="ieee")
    scores = scores * sm_scale
    if HAS_BIAS:
        bias_ptrs = Bias + b * stride_bb + h * stride_bh + offs_m[:, None] * stride_bm + offs_n[None, :] * stride_bn
        scores += tl.load(bias_ptrs, mask=row_ok[:, None] & key_ok[None, :], other=0.0).to(tl.float32)
    scores = tl.where(key_ok[None, :], scores, float("-inf"))

    row_max = tl.max(scores, 1)
    has_keys = row_max > float("-inf")  # a row the mask hides entirely gives zeros
    row_max = tl.where(has_keys, row_max, 0.0)
    x = scores - row_max[:, None]
    exp_sum = tl.sum(tl.exp(x), 1)
    if HAS_TOTAL_LSE:
        # Joint attention: the dense weights of the larger softmax, and entmax scaled by these keys' share.
        lse = tl.load(TotalLse + b * stride_lb + h * stride_lh + offs_m * stride_lm, mask=row_ok, other=0.0)
        dense_factor = tl.where(has_keys, tl.exp(row_max - lse.to(tl.float32)), 0.0)
        share = exp_sum * dense_factor
    else:
        dense_factor = 1.0 / tl.maximum(exp_sum, FP32_TINY)
        share = tl.where(has_keys, 1.0, 0.0)

    repeats = tl.load(Repeats + b).to(tl.float32)
    zero_row = tl.zeros((BLOCK_M,), dtype=tl.float32)
    sigma, norm = _entmax_threshold(
        x, zero_row, mass_unit, repeats, alpha_minus_one, beta, n_key, BETA, BISECTION, NEWTON, REFINE
    )
    if BETA == 0:
        sparse = _power(tl.maximum(x * alpha_minus_one - sigma[:, None], 0.0), beta)
    else:
        sparse = tl.maximum(x - sigma[:, None], 0.0)
        if BETA == 2:
            sparse = sparse * sparse
    # Masked keys have x = −inf, so exp(x) = 0 and sparse = 0 there. exp2 rather than exp: recomputed here,
    # not kept live in registers through the solve.
    dense = tl.exp2(x * 1.4426950408889634)
    weights = (dense_weight * dense_factor)[:, None] * dense + (sparse_weight * share / norm)[:, None] * sparse

    # out = W·V, the value dimension in slices.
    v_base = V + b * stride_vb + h * stride_vh
    o_base = Out + b * stride_ob + h * stride_oh
    if HAS_ROW_SCALE:
        row_scale = tl.load(RowScale + b * stride_rb + h * stride_rh + offs_m * stride_rm, mask=row_ok, other=0.0)
    # W·V on the tensor cores: W = hi + lo in v's dtype, each product exact, accumulated in fp32, so the
    # result is that of fp32 weights (PV_MODE 2); PV_MODE 1 keeps hi only (flash attention's rounding);
    # PV_MODE 0 (fp32 V) is an fp32 product.
    weights_hi = weights if PV_MODE == 0 else weights.to(V.dtype.element_ty)
    if PV_MODE == 2:
        weights_lo = (weights - weights_hi.to(tl.float32)).to(V.dtype.element_ty)
        if DOT_IN_FP32:
            weights_lo = weights_lo.to(tl.float32)
    if DOT_IN_FP32:
        weights_hi = weights_hi.to(tl.float32)
    for e0 in tl.static_range(0, BLOCK_DV, BLOCK_DVK):
        offs_e = e0 + tl.arange(0, BLOCK_DVK)
        e_ok = offs_e < dim_value
        v = _load_tile(v_base, offs_n, stride_vn, key_ok, offs_e, stride_vd, e_ok)
        if DOT_IN_FP32:
            v = v.to(tl.float32)
        result = tl.dot(weights_hi, v, input_precision="ieee")
        if PV_MODE == 2:
            result = tl.dot(weights_lo, v, result, input_precision="ieee")
        if HAS_ROW_SCALE:
            result = result * row_scale.to(tl.float32)[:, None]
        o_ptrs = o_base + offs_m[:, None] * stride_om + offs_e[None, :] * stride_od
        o_mask = row_ok[:, None] & e_ok[None, :]
        if ACCUMULATE:
            result += tl.load(o_ptrs, mask=o_mask, other=0.0).to(tl.float32)
        tl.store(o_ptrs, result.to(Out.dtype.element_ty), mask=o_mask)


def _is_interpreted(kernel) -> bool:
    """Whether ``triton.jit`` gave an interpreted function (Triton ≥ 3.2 names its class; before, not a JIT)."""
    try:
        from triton.runtime.interpreter import InterpretedFunction
    except ImportError:
        return not isinstance(kernel, triton.runtime.JITFunction)
    return isinstance(kernel, InterpretedFunction)


INTERPRETED = _is_interpreted(_pladis_kernel)
# The interpreters (Triton 3.2–3.9) multiply bfloat16 tiles wrongly (and may accumulate fp16 ones in fp16);
# products of fp16/bf16 values are exact in fp32, so there the dots take fp32 operands: the same result.


def is_compile_error(error: BaseException) -> bool:
    """Whether a launch failed in Triton's compiler (front end, MLIR passes, ptxas, resources at load)."""
    names = {cls.__name__ for cls in type(error).__mro__}
    if names & {"CompilationError", "PTXASError", "OutOfResources"}:
        return True
    text = str(error)
    return isinstance(error, RuntimeError) and any(mark in text for mark in ("PassManager", "ptxas", "PTX codegen"))


def _block(n: int) -> int:
    return max(16, triton.next_power_of_2(n))


def pladis_attention_heads_fused(
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
    low_precision_pv: bool = False,
) -> torch.Tensor:
    """``cross_attention.pladis_attention_heads`` in one kernel launch (same arguments, same result).

    The caller (``dispatch``) checks that the kernel covers the operands. For fp16/bf16 V, W·V runs on the
    tensor cores with W split into two halves in v's dtype (the fp32 result); ``low_precision_pv`` keeps one
    (W rounded to v's dtype, as flash attention does).
    """
    batch, heads, n_query, dim_head = q.shape
    n_key, dim_value = k.shape[2], v.shape[-1]
    beta = 1.0 / (alpha - 1.0)
    beta_kind = int(beta) if beta in (1.0, 2.0) else 0
    dense_weight = (1.0 - scale) if include_dense else -scale
    if key_repeats is None:
        repeats = torch.ones(batch, dtype=torch.float32, device=q.device)
    else:
        repeats = key_repeats.to(device=q.device, dtype=torch.float32).contiguous()
    # The pointers of absent operands get any tensor; their loads are compiled out.
    bias_4d = q
    bias_strides = (0, 0, 0, 0)
    if bias is not None:
        bias_4d = bias.reshape((1,) * (4 - bias.dim()) + tuple(bias.shape)).expand(batch, heads, n_query, n_key)
        bias_strides = bias_4d.stride()
    row_scale_t = q if row_scale is None else row_scale.expand(batch, heads, n_query, 1)
    row_scale_strides = (0, 0, 0) if row_scale is None else row_scale_t.stride()[:3]
    lse = q if total_logsumexp is None else total_logsumexp
    lse_strides = (0, 0, 0) if total_logsumexp is None else lse.stride()

    block_n = _block(n_key)
    block_d, block_dv = _block(dim_head), _block(dim_value)
    if INTERPRETED:
        block_m = min(INTERPRETER_BLOCK_M, _block(n_query))
    else:
        # About 32 fp32 scores per thread. Registers and spills per tile: docs/gpu.md (scripts/triton_aot.py);
        # 32×128 with 4 warps rather than 64×128 with 8: 127 registers, not 255 and a spill on sm_80/86.
        block_m = BLOCK_M_OVERRIDE or (64 if block_n <= 64 else 32 if block_n <= 256 else 16)
    num_warps = NUM_WARPS_OVERRIDE or max(4, min(8, block_m * block_n // 1024))
    grid = (triton.cdiv(n_query, block_m), batch * heads)
    _pladis_kernel[grid](
        q, k, v, out, repeats, bias_4d, row_scale_t, lse,
        *q.stride(), *k.stride(), *v.stride(), *out.stride(),
        *bias_strides, *row_scale_strides, *lse_strides,
        heads, n_query, n_key, dim_head, dim_value,
        dim_head**-0.5, dense_weight, scale, (alpha - 1.0) ** -beta, alpha - 1.0, beta,
        BETA=beta_kind, HAS_BIAS=bias is not None,
        HAS_ROW_SCALE=row_scale is not None, HAS_TOTAL_LSE=total_logsumexp is not None, ACCUMULATE=accumulate,
        PV_MODE=0 if v.dtype == torch.float32 else 1 if low_precision_pv else 2,
        DOT_IN_FP32=INTERPRETED,
        BLOCK_M=block_m, BLOCK_N=block_n, BLOCK_D=block_d, BLOCK_DK=min(block_d, 64),
        BLOCK_DV=block_dv, BLOCK_DVK=min(block_dv, 64),
        BISECTION=BISECTION_STEPS if beta_kind else GENERAL_ALPHA_BISECTION_STEPS,
        NEWTON=NEWTON_STEPS, REFINE=REFINE_STEPS,
        num_warps=num_warps,
    )  # fmt: skip
    return out
