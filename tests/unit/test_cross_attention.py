import pytest
import torch
from checks import assert_all, assert_finite
from oracles import pladis_reference, sd_like_qkv

from pladis_core import alpha_entmax, dense_attention, pladis_attention, pladis_attention_heads
from pladis_core.alpha_entmax import EXACT_SOLVERS


@pytest.fixture(params=EXACT_SOLVERS)
def solver(request, monkeypatch):
    """Each exact solver in turn, as if the device had chosen it ("sort" is the accelerators' path)."""
    monkeypatch.setattr(alpha_entmax, "exact_solver", lambda device: request.param)
    return request.param


@pytest.mark.parametrize("alpha", [1.5, 2.0, 1.25])
@pytest.mark.parametrize("scale", [0.5, 1.0, 2.0, 3.0])
def test_matches_the_float64_formula(alpha, scale):
    q, k, v = sd_like_qkv(dtype=torch.float64)
    out = pladis_attention(q, k, v, heads=4, alpha=alpha, scale=scale)
    tolerance = 1e-6 if alpha in (1.5, 2.0) else 1e-5
    torch.testing.assert_close(out, pladis_reference(q, k, v, 4, alpha, scale), atol=tolerance, rtol=0)


@pytest.mark.parametrize("alpha", [1.5, 2.0])
def test_the_accelerators_solver_matches_the_float64_formula(alpha, monkeypatch):
    monkeypatch.setattr(alpha_entmax, "exact_solver", lambda device: "sort")
    q, k, v = sd_like_qkv(dtype=torch.float64)
    out = pladis_attention(q, k, v, heads=4, alpha=alpha, scale=2.0)
    torch.testing.assert_close(out, pladis_reference(q, k, v, 4, alpha, 2.0), atol=1e-6, rtol=0)


@pytest.mark.parametrize("alpha", [1.5, 2.0])
def test_float32_is_within_float32_rounding_of_the_formula(alpha, solver):
    q, k, v = sd_like_qkv()
    out = pladis_attention(q, k, v, heads=4, alpha=alpha)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out.double(), pladis_reference(q, k, v, 4, alpha, 2.0), atol=2e-5, rtol=0)


def test_scale_zero_is_the_unpatched_attention():
    q, k, v = sd_like_qkv()
    assert torch.equal(pladis_attention(q, k, v, heads=4, scale=0.0), dense_attention(q, k, v, 4))


def test_scale_one_is_pure_entmax_attention():
    q, k, v = sd_like_qkv(dtype=torch.float64)
    torch.testing.assert_close(
        pladis_attention(q, k, v, heads=4, scale=1.0), pladis_reference(q, k, v, 4, 1.5, 1.0), atol=1e-9, rtol=0
    )


def test_dense_attention_is_softmax_attention():
    q, k, v = sd_like_qkv(dtype=torch.float64)
    torch.testing.assert_close(dense_attention(q, k, v, 4), pladis_reference(q, k, v, 4, 1.5, 0.0), atol=1e-12, rtol=0)


@pytest.mark.parametrize("alpha", [1.5, 2.0])
def test_correction_alone_is_pladis_minus_dense(alpha):
    q, k, v = sd_like_qkv(dtype=torch.float64)
    correction = pladis_attention(q, k, v, heads=4, alpha=alpha, include_dense=False)
    expected = pladis_reference(q, k, v, 4, alpha, 2.0) - pladis_reference(q, k, v, 4, alpha, 0.0)
    torch.testing.assert_close(correction, expected, atol=1e-9, rtol=0)


@pytest.mark.parametrize("chunk_scores", [1, 77, 4 * 77 * 5, 10**9])
def test_chunked_equals_unchunked(chunk_scores):
    q, k, v = sd_like_qkv(n_query=200, dtype=torch.float64)
    reference = pladis_attention(q, k, v, heads=4, chunk_scores=10**9)
    out = pladis_attention(q, k, v, heads=4, chunk_scores=chunk_scores)
    torch.testing.assert_close(out, reference, atol=1e-13, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("alpha", [1.5, 2.0])
def test_half_inputs_give_the_float32_result_rounded(dtype, alpha, solver):
    q, k, v = sd_like_qkv(n_query=256, dim_head=64, dtype=dtype)
    out = pladis_attention(q, k, v, heads=4, alpha=alpha)
    assert out.dtype == dtype
    assert_finite(out, "out")
    expected = pladis_attention(q.float(), k.float(), v.float(), heads=4, alpha=alpha)
    assert torch.equal(out, expected.to(dtype))


def test_value_head_dim_may_differ_and_batch_elements_are_independent():
    q, k, v = sd_like_qkv(batch=3, dtype=torch.float64)
    v = torch.randn(3, 77, 4 * 8, dtype=torch.float64)
    out = pladis_attention(q, k, v, heads=4)
    assert out.shape == (3, q.shape[1], 32)
    torch.testing.assert_close(out[1:2], pladis_attention(q[1:2], k[1:2], v[1:2], heads=4), atol=1e-12, rtol=0)


def test_invalid_parameters():
    q, k, v = sd_like_qkv()
    with pytest.raises(ValueError, match="alpha"):
        pladis_attention(q, k, v, heads=4, alpha=1.0)
    with pytest.raises(ValueError, match="scale"):
        pladis_attention(q, k, v, heads=4, scale=-1.0)


@pytest.mark.parametrize("n_key", [154, 1024])
def test_the_two_solvers_agree_with_masked_keys_and_repeats(n_key, monkeypatch):
    q, k, v = sd_like_qkv(n_query=32, n_key=n_key)
    k[1], v[1] = k[1, : n_key // 2].repeat(2, 1), v[1, : n_key // 2].repeat(2, 1)
    bias = torch.zeros(2, 1, 1, n_key)
    bias[0, ..., 5:20] = float("-inf")
    heads = [t.view(2, t.shape[1], 4, -1).transpose(1, 2) for t in (q, k, v)]
    results = {}
    for name in EXACT_SOLVERS:
        monkeypatch.setattr(alpha_entmax, "exact_solver", lambda device, name=name: name)
        out = torch.empty(2, 4, 32, 16)
        repeats = torch.tensor([1.0, 2.0])
        pladis_attention_heads(*heads, 1.5, 2.0, out=out, key_repeats=repeats, bias=bias)
        results[name] = out
    torch.testing.assert_close(results["sort"], results["refine"], atol=1e-5, rtol=0)


def test_fully_masked_rows_give_zeros_not_nan(solver):
    q, k, v = sd_like_qkv(n_query=8)
    heads = [t.view(2, t.shape[1], 4, -1).transpose(1, 2) for t in (q, k, v)]
    bias = torch.zeros(2, 1, 8, 77)
    bias[1, :, 3] = float("-inf")
    out = torch.empty(2, 4, 8, 16)
    pladis_attention_heads(*heads, 1.5, 2.0, out=out, include_dense=False, bias=bias)
    assert_finite(out, "out")
    assert_all(out[1, :, 3] == 0, "the row that sees no key is 0")
