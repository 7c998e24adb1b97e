"""The fused Triton kernel, run by Triton's CPU interpreter, against the float64 oracle and the eager engine.

Triton reads TRITON_INTERPRET when a @triton.jit function is defined: triton.language's helpers at
`import triton`, ours when pladis_core.triton_pladis is imported. tests/conftest.py sets it before anything
imports triton; the module is re-imported below if it was imported without it. Shapes are small: the interpreter
runs one program at a time in NumPy.
"""

from __future__ import annotations

import importlib
import os

import pytest
import torch
from checks import assert_all, assert_close, assert_finite

os.environ["TRITON_INTERPRET"] = "1"
pytest.importorskip("triton")

from oracles import entmax_reference  # noqa: E402

from pladis_core import dispatch, triton_pladis  # noqa: E402
from pladis_core.cross_attention import pladis_attention_heads  # noqa: E402

if not triton_pladis.INTERPRETED:  # imported earlier without the interpreter
    triton_pladis = importlib.reload(triton_pladis)
dispatch._state.kernels["module"] = triton_pladis

# Relative spacing of the output dtypes: rounding to them is within half of it.
DTYPE_EPS = {torch.float16: 2.0**-10, torch.bfloat16: 2.0**-7}


@pytest.fixture(autouse=True)
def interpreted_kernel(monkeypatch):
    monkeypatch.setenv("PLADIS_BACKEND", "triton")
    monkeypatch.setenv("TRITON_INTERPRET", "1")


def operands(n_key=77, batch=2, heads=2, n_query=24, dim=16, dim_value=None, seed=0):
    """Peaked rows like SD cross-attention, (B, H, N, d)."""
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(batch, heads, n_query, dim, generator=g) * 1.6
    k = torch.randn(batch, heads, n_key, dim, generator=g)
    k[:, :, 0] *= 3.0
    v = torch.randn(batch, heads, n_key, dim_value or dim, generator=g)
    return q, k, v


def reference(q, k, v, alpha, scale, *, include_dense=True, bias=None, row_scale=None, total_logsumexp=None):
    """The engine's definition written naively in float64 (entmax from the entmax package)."""
    q, k, v = q.double(), k.double(), v.double()
    logits = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5
    if bias is not None:
        logits = logits + bias.double()
    has_keys = torch.isfinite(logits.amax(dim=-1, keepdim=True))
    safe = torch.where(has_keys, logits, torch.zeros_like(logits))
    sparse = entmax_reference(safe, alpha)
    if total_logsumexp is None:
        dense, share = safe.softmax(dim=-1), 1.0
    else:
        dense = (safe - total_logsumexp.double()[..., None]).exp()
        share = dense.sum(dim=-1, keepdim=True)
    weights = ((1.0 - scale) if include_dense else -scale) * dense + scale * share * sparse
    out = torch.where(has_keys, weights, torch.zeros_like(weights)) @ v
    return out if row_scale is None else out * row_scale.double()


def fused(q, k, v, alpha=1.5, scale=2.0, out=None, **options):
    if out is None:
        out = torch.empty(*q.shape[:3], v.shape[-1], dtype=v.dtype)
    pladis_attention_heads(q, k, v, alpha, scale, out=out, **options)
    assert dispatch.last_backend().name == dispatch.INTERPRETER
    return out


def eager(q, k, v, alpha=1.5, scale=2.0, out=None, **options):
    if out is None:
        out = torch.empty(*q.shape[:3], v.shape[-1], dtype=v.dtype)
    with dispatch.forced_backend("eager"):
        pladis_attention_heads(q, k, v, alpha, scale, out=out, **options)
    assert dispatch.last_backend().name == dispatch.EAGER
    return out


def relative_error(actual, expected) -> float:
    return ((actual.double() - expected.double()).abs().max() / expected.double().abs().max()).item()


@pytest.mark.parametrize("n_key", [1, 77, 154, 333, 512])
@pytest.mark.parametrize("alpha", [1.5, 2.0, 1.75])
def test_fp32_matches_the_float64_oracle_and_the_eager_engine(n_key, alpha):
    q, k, v = operands(n_key, n_query=16)
    out = fused(q, k, v, alpha)
    assert relative_error(out, reference(q, k, v, alpha, 2.0)) <= 1e-5
    assert relative_error(out, eager(q, k, v, alpha)) <= 1e-5


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize(("n_key", "alpha"), [(77, 1.5), (333, 2.0), (154, 1.75)])
def test_half_precision_is_the_fp32_result_rounded(dtype, n_key, alpha):
    q, k, v = (t.to(dtype) for t in operands(n_key, n_query=16))
    out = fused(q, k, v, alpha)
    assert out.dtype == dtype
    # fp32 math on the rounded inputs, then one rounding to the output dtype.
    expected = reference(q, k, v, alpha, 2.0)
    tolerance = DTYPE_EPS[dtype] * expected.abs() + 1e-5 * expected.abs().max()
    assert_close(out.double(), expected, atol=tolerance, what="kernel vs the float64 oracle")
    eager_out = eager(q, k, v, alpha).double()
    assert_close(out.double(), eager_out, rtol=2 * DTYPE_EPS[dtype], atol=1e-5, what="kernel vs the eager path")


@pytest.mark.parametrize("alpha", [1.5, 2.0, 1.75])
def test_masks_with_infinite_entries_and_fully_masked_rows(alpha):
    q, k, v = operands(77)
    bias = torch.randn(2, 1, 24, 77) * 0.5
    bias[..., 60:] = float("-inf")
    bias[1, :, 5] = float("-inf")  # a row that sees no key
    out = fused(q, k, v, alpha, bias=bias)
    assert_finite(out, "out")
    assert_all(out[1, :, 5] == 0, "the fully masked row is zero")
    assert relative_error(out, reference(q, k, v, alpha, 2.0, bias=bias)) <= 1e-5
    assert relative_error(out, eager(q, k, v, alpha, bias=bias)) <= 1e-5


def test_a_key_mask_broadcast_over_rows_heads_and_batch():
    q, k, v = operands(154)
    bias = torch.zeros(154)
    bias[100:] = float("-inf")
    out = fused(q, k, v, bias=bias)
    assert relative_error(out, reference(q, k[:, :, :100], v[:, :, :100], 1.5, 2.0)) <= 1e-5


@pytest.mark.parametrize("alpha", [1.5, 2.0, 1.75])
def test_repeat_counts_give_the_result_of_the_unrepeated_context(alpha):
    q, k, v = operands(77)
    repeats = torch.tensor([3.0, 1.0])
    k3, v3 = k.repeat(1, 1, 3, 1), v.repeat(1, 1, 3, 1)
    out = fused(q, k3, v3, alpha, key_repeats=repeats)
    assert relative_error(out[:1], reference(q[:1], k[:1], v[:1], alpha, 2.0)) <= 1e-5
    # Element 1 is not declared repeated: entmax then sees 231 distinct keys.
    assert relative_error(out[1:], reference(q[1:], k3[1:], v3[1:], alpha, 2.0)) <= 1e-5
    assert relative_error(out, eager(q, k3, v3, alpha, key_repeats=repeats)) <= 1e-5


def test_correction_only():
    q, k, v = operands(77)
    out = fused(q, k, v, include_dense=False)
    assert relative_error(out, reference(q, k, v, 1.5, 2.0, include_dense=False)) <= 1e-5


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_joint_correction_with_total_logsumexp_accumulates(dtype):
    q, k, v = operands(77, dim_value=24)
    other_keys = torch.randn(2, 2, 24, 40) * 2
    logits = q @ k.transpose(-1, -2) / 4.0
    total = torch.logsumexp(torch.cat([logits, other_keys], dim=-1), dim=-1)
    dense_part = torch.randn(2, 2, 24, 24)
    out = dense_part.to(dtype, copy=True)
    q, k, v = (t.to(dtype) for t in (q, k, v))
    fused(q, k, v, out=out, include_dense=False, total_logsumexp=total, accumulate=True)
    expected = dense_part.to(dtype).double() + reference(q, k, v, 1.5, 2.0, include_dense=False, total_logsumexp=total)
    eps = DTYPE_EPS.get(dtype, 0.0)
    assert_close(out.double(), expected, rtol=eps, atol=1e-5 * expected.abs().max(), what="accumulated output")


def test_row_scale_and_accumulate_into_a_strided_output():
    q, k, v = operands(77)
    row_scale = torch.rand(2, 2, 24, 1)
    storage = torch.randn(2, 30, 2, 16)  # (B, N, H, d) with extra rows: out is a strided view
    out = storage[:, 3:27].transpose(1, 2)
    before = storage.clone()
    fused(q, k, v, out=out, include_dense=False, row_scale=row_scale, accumulate=True)
    expected = before[:, 3:27].transpose(1, 2).double()
    expected += reference(q, k, v, 1.5, 2.0, include_dense=False, row_scale=row_scale)
    assert relative_error(out, expected) <= 1e-5
    assert torch.equal(storage[:, :3], before[:, :3]) and torch.equal(storage[:, 27:], before[:, 27:])


def test_strided_views_of_q_k_v_and_out_in_comfyui_layout():
    g = torch.Generator().manual_seed(3)
    batch, heads, dim = 2, 2, 16
    qkv = torch.randn(batch, 24, 3 * heads * dim, generator=g)  # a fused projection, sliced
    context = torch.randn(batch, 77, 2 * heads * dim, generator=g)
    q = qkv[..., : heads * dim].unflatten(-1, (heads, dim)).transpose(1, 2)
    k = context[..., : heads * dim].unflatten(-1, (heads, dim)).transpose(1, 2)
    v = context[..., heads * dim :].unflatten(-1, (heads, dim)).transpose(1, 2)
    out = torch.empty(batch, 24, heads * dim).unflatten(-1, (heads, dim)).transpose(1, 2)
    fused(q, k, v, out=out)
    assert relative_error(out, reference(q, k, v, 1.5, 2.0)) <= 1e-5


def test_head_sizes_that_are_not_powers_of_two():
    q, k, v = operands(77, dim=40, dim_value=80)
    assert relative_error(fused(q, k, v), reference(q, k, v, 1.5, 2.0)) <= 1e-5


@pytest.mark.parametrize("alpha", [1.5, 2.0])
def test_rows_whose_support_needs_the_refinement_rounds(monkeypatch, alpha):
    """Without bisection and with one Newton step the support is not final yet: the checked loop makes it so."""
    monkeypatch.setattr(triton_pladis, "BISECTION_STEPS", 0)
    monkeypatch.setattr(triton_pladis, "NEWTON_STEPS", 1)
    q, k, v = operands(333, n_query=16)
    assert relative_error(fused(q * 0.3, k, v, alpha), reference(q * 0.3, k, v, alpha, 2.0)) <= 1e-5
