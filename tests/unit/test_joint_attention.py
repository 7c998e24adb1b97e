import pytest
import torch
import torch.nn.functional as F
from checks import assert_finite
from oracles import joint_qkv, joint_reference, joint_weights_reference

from pladis_core import pladis_joint_attention
from pladis_core.joint_attention import (
    additive_mask,
    cpu_kernel_for_plain_backend,
    dense_attention_with_text_mass,
    logsumexp_over_keys,
    mask_for_heads,
    sdpa_attend,
    sdpa_with_logsumexp,
)

TEXT, IMAGE = slice(0, 7), slice(7, 31)


def dense_strategy(name, bias=None):
    """The two ways the text mass is obtained: the dense pass's log-sum-exp, or an indicator column in V."""
    if name == "logsumexp":
        return {"attend_with_logsumexp": sdpa_with_logsumexp(torch.device("cpu"), bias)}
    return {"attend": sdpa_attend(bias)}


STRATEGIES = ["logsumexp", "indicator"]


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("alpha", [1.5, 2.0, 1.25])
@pytest.mark.parametrize("scale", [0.5, 2.0, 3.0])
def test_matches_the_float64_formula(alpha, scale, strategy):
    q, k, v = joint_qkv(batch=2, n_ref=5, dtype=torch.float64)
    out = pladis_joint_attention(q, k, v, TEXT, IMAGE, alpha, scale, **dense_strategy(strategy))
    tolerance = 1e-6 if alpha in (1.5, 2.0) else 1e-5
    torch.testing.assert_close(out, joint_reference(q, k, v, TEXT, IMAGE, alpha, scale), atol=tolerance, rtol=0)


def test_float32_within_rounding():
    q, k, v = joint_qkv(batch=2, n_ref=5)
    out = pladis_joint_attention(q, k, v, TEXT, IMAGE)
    torch.testing.assert_close(out.double(), joint_reference(q, k, v, TEXT, IMAGE, 1.5, 2.0), atol=2e-5, rtol=0)


def weights_of(q, k, text, image, alpha=1.5, scale=2.0, bias=None):
    """The weights the function applies, read back through V = identity."""
    length = k.shape[2]
    eye = torch.eye(length, dtype=q.dtype).expand(q.shape[0], q.shape[1], length, length)
    return pladis_joint_attention(q, k, eye, text, image, alpha, scale, bias=bias)


def test_rows_sum_to_one_and_only_the_image_text_block_changes():
    q, k, _ = joint_qkv(n_ref=5, dtype=torch.float64)
    weights = weights_of(q, k, TEXT, IMAGE)
    dense = F.softmax(q @ k.transpose(-1, -2) / 4.0, dim=-1)
    torch.testing.assert_close(weights.sum(-1), torch.ones_like(weights[..., 0]), atol=1e-12, rtol=0)
    torch.testing.assert_close(weights[..., TEXT, :], dense[..., TEXT, :], atol=1e-12, rtol=0)  # text queries
    torch.testing.assert_close(weights[..., 31:, :], dense[..., 31:, :], atol=1e-12, rtol=0)  # reference queries
    torch.testing.assert_close(weights[..., IMAGE, 7:], dense[..., IMAGE, 7:], atol=1e-12, rtol=0)  # image keys
    assert not torch.allclose(weights[..., IMAGE, TEXT], dense[..., IMAGE, TEXT])
    torch.testing.assert_close(weights, joint_weights_reference(q, k, None, TEXT, IMAGE, 1.5, 2.0), atol=1e-9, rtol=0)


def test_scale_zero_is_dense_attention():
    q, k, v = joint_qkv(dtype=torch.float64)
    torch.testing.assert_close(
        pladis_joint_attention(q, k, v, TEXT, IMAGE, scale=0.0),
        F.scaled_dot_product_attention(q, k, v),
        atol=1e-12,
        rtol=0,
    )


def test_text_mass_comes_with_the_dense_output():
    q, k, v = joint_qkv(batch=2, dtype=torch.float64)
    out = torch.empty_like(v)
    mass = dense_attention_with_text_mass(sdpa_attend(), q, k, v, TEXT, out)
    dense = F.softmax(q @ k.transpose(-1, -2) / 4.0, dim=-1)
    torch.testing.assert_close(out, dense @ v, atol=1e-12, rtol=0)
    torch.testing.assert_close(mass.double(), dense[..., TEXT].sum(-1), atol=1e-6, rtol=0)


def test_heads_in_groups_equal_all_at_once(monkeypatch):
    q, k, v = joint_qkv(heads=5, dtype=torch.float64)
    reference = pladis_joint_attention(q, k, v, TEXT, IMAGE)
    monkeypatch.setattr("pladis_core.joint_attention.DENSE_GROUP_BYTES", 1)
    torch.testing.assert_close(pladis_joint_attention(q, k, v, TEXT, IMAGE), reference, atol=1e-13, rtol=0)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("chunk_scores", [1, 7 * 5, 10**9])
def test_chunked_equals_unchunked(chunk_scores, strategy):
    q, k, v = joint_qkv(batch=2, dtype=torch.float64)
    dense = dense_strategy(strategy)
    reference = pladis_joint_attention(q, k, v, TEXT, IMAGE, chunk_scores=10**9, **dense)
    out = pladis_joint_attention(q, k, v, TEXT, IMAGE, chunk_scores=chunk_scores, **dense)
    torch.testing.assert_close(out, reference, atol=1e-13, rtol=0)


def test_image_first_layout():
    q, k, v = joint_qkv(n_text=9, n_image=20, dtype=torch.float64)
    image, text = slice(0, 20), slice(20, 29)
    out = pladis_joint_attention(q, k, v, text, image)
    torch.testing.assert_close(out, joint_reference(q, k, v, text, image, 1.5, 2.0), atol=1e-6, rtol=0)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("kind", ["additive", "bool"])
def test_masked_text_keys(kind, strategy):
    q, k, v = joint_qkv(batch=2, dtype=torch.float64)
    keep = torch.ones(2, 31, dtype=torch.bool)
    keep[0, 4:7] = False  # padding text tokens of the first element
    mask = keep[:, None, :].expand(2, 31, 31)
    if kind == "additive":
        mask = torch.zeros(2, 31, 31, dtype=torch.float64).masked_fill(~mask, float("-inf"))
    bias = additive_mask(mask, torch.float64)
    assert bias.shape == (2, 1, 31, 31)
    out = pladis_joint_attention(q, k, v, TEXT, IMAGE, bias=bias, **dense_strategy(strategy, bias))
    assert_finite(out, "out")
    torch.testing.assert_close(out, joint_reference(q, k, v, TEXT, IMAGE, 1.5, 2.0, bias=bias), atol=1e-6, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_inputs_give_the_float32_result_rounded(dtype):
    q, k, v = joint_qkv(batch=2, heads=4, n_image=64, dim_head=32, dtype=dtype)
    out = pladis_joint_attention(q, k, v, TEXT, slice(7, 71))
    expected = pladis_joint_attention(q.float(), k.float(), v.float(), TEXT, slice(7, 71))
    assert out.dtype == dtype
    assert_finite(out, "out")
    assert torch.equal(out, expected.to(dtype))


@pytest.mark.parametrize("chunk_scores", [1, 200, 1 << 22])
def test_logsumexp_over_key_chunks(chunk_scores):
    q, k, _ = joint_qkv(batch=2, dtype=torch.float64)
    bias = torch.zeros(2, 1, 31, 31, dtype=torch.float64)
    bias[0, :, :, 3:6] = float("-inf")
    expected = (q @ k.transpose(-1, -2) / 4.0 + bias).logsumexp(-1)
    got = logsumexp_over_keys(q, k, bias, chunk_scores=chunk_scores)
    torch.testing.assert_close(got, expected, atol=1e-12, rtol=0)


def test_dense_from_another_backend_with_a_separate_logsumexp_pass():
    q, k, v = joint_qkv(batch=2, n_ref=3, dtype=torch.float64)

    def attend_with_logsumexp(q, k, v):
        return F.scaled_dot_product_attention(q, k, v), logsumexp_over_keys(q, k)

    out = pladis_joint_attention(q, k, v, TEXT, IMAGE, attend_with_logsumexp=attend_with_logsumexp)
    torch.testing.assert_close(out, joint_reference(q, k, v, TEXT, IMAGE, 1.5, 2.0), atol=1e-6, rtol=0)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_heads_in_groups_with_a_mask_per_head(strategy, monkeypatch):
    """A mask with a head dimension is cut to each group of heads in the dense pass."""
    q, k, v = joint_qkv(batch=2, heads=5, dtype=torch.float64)
    bias = torch.zeros(2, 5, 31, 31, dtype=torch.float64)
    bias[0, 1, :, 2:5] = float("-inf")
    bias[1, 4, 9:, 0] = float("-inf")
    monkeypatch.setattr("pladis_core.joint_attention.DENSE_GROUP_BYTES", 1)
    out = pladis_joint_attention(q, k, v, TEXT, IMAGE, bias=bias, **dense_strategy(strategy, bias))
    expected = joint_reference(q, k, v, TEXT, IMAGE, 1.5, 2.0, bias=bias)
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=0)


def test_mask_for_heads_cuts_only_a_head_dimension():
    per_head, shared = torch.zeros(2, 5, 3, 4), torch.zeros(2, 1, 3, 4)
    assert mask_for_heads(per_head, slice(1, 3)).shape == (2, 2, 3, 4)
    assert mask_for_heads(shared, slice(1, 3)) is shared
    assert mask_for_heads(torch.zeros(2, 3, 4), slice(1, 3)).shape == (2, 3, 4)  # (B, Lq, Lk): every head
    assert mask_for_heads(None, slice(0, 1)) is None


@pytest.mark.parametrize("strategy", [*STRATEGIES, "default"])
@pytest.mark.parametrize("softmax_scale", [0.1, 0.6])
def test_a_softmax_scale_other_than_the_default(softmax_scale, strategy, monkeypatch):
    """Z = QKᵀ·s for a given s (ComfyUI ≥ 0.33 passes ``scale``), in the dense pass and in the correction."""
    monkeypatch.setattr("pladis_core.joint_attention.DENSE_GROUP_BYTES", 1)
    q, k, v = joint_qkv(batch=2, heads=3, n_ref=4, dtype=torch.float64)
    dense = {}
    if strategy == "logsumexp":
        dense = {"attend_with_logsumexp": sdpa_with_logsumexp(torch.device("cpu"), None, softmax_scale)}
    elif strategy == "indicator":
        dense = {"attend": sdpa_attend()}  # plain attention: the padded q copies carry the scale
    out = pladis_joint_attention(q, k, v, TEXT, IMAGE, softmax_scale=softmax_scale, **dense)
    expected = joint_reference(q * (softmax_scale * 4.0), k, v, TEXT, IMAGE, 1.5, 2.0)  # √16 = 4
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=0)


def test_logsumexp_with_a_softmax_scale():
    q, k, _ = joint_qkv(dtype=torch.float64)
    expected = (q @ k.transpose(-1, -2) * 0.3).logsumexp(-1)
    torch.testing.assert_close(logsumexp_over_keys(q, k, softmax_scale=0.3), expected, atol=1e-12, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_a_backend_on_cpu_gets_float32_copies_of_half_inputs(dtype):
    """Half-precision scores before the softmax would cost ~1% of the output: on CPU the dense pass through a
    backend runs in float32, and the sum is rounded to the inputs' dtype once."""
    seen = []
    attend = sdpa_attend()

    def recording(q, k, v, heads):
        seen.append(q.dtype)
        return attend(q, k, v, heads)

    q, k, v = joint_qkv(batch=2, heads=4, n_image=64, dim_head=32, dtype=dtype)
    out = pladis_joint_attention(q, k, v, TEXT, slice(7, 71), attend=recording)
    assert set(seen) == {torch.float32} and out.dtype == dtype
    expected = joint_reference(q, k, v, TEXT, slice(7, 71), 1.5, 2.0)
    ulp = 2.0 ** (torch.log2(expected.abs().max()).floor() - (10 if dtype == torch.float16 else 7))
    assert (out.double() - expected).abs().max() <= ulp


def test_bfloat16_on_cpu_takes_pytorchs_kernel_instead_of_a_plain_backend():
    """For bf16 on CPU the dense pass needs no float32 copies: PyTorch's flash kernel accumulates in float32 and
    gives the log-sum-exp; the result stays within one bf16 ulp of the float64 formula."""
    q, k, v = joint_qkv(batch=2, heads=4, n_image=64, dim_head=32, dtype=torch.bfloat16)
    kernel = cpu_kernel_for_plain_backend(q, v)
    assert kernel is not None
    out = pladis_joint_attention(q, k, v, TEXT, slice(7, 71), attend_with_logsumexp=kernel)
    assert out.dtype == torch.bfloat16
    expected = joint_reference(q, k, v, TEXT, slice(7, 71), 1.5, 2.0)
    ulp = 2.0 ** (torch.log2(expected.abs().max()).floor() - 7)
    error = (out.double() - expected).abs().max()
    assert error <= ulp, f"max error {error:.3g} > 1 bf16 ulp ({ulp:.3g})"
    for dtype in (torch.float16, torch.float32):
        assert cpu_kernel_for_plain_backend(q.to(dtype), v.to(dtype)) is None
    assert cpu_kernel_for_plain_backend(q, v[..., :16]) is None  # the kernel wants one head size
