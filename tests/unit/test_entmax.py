import entmax as entmax_package
import pytest
import torch
from oracles import entmax_reference

from pladis_core import entmax, entmax15, sparsemax

SHAPES = [(1, 2), (8, 3), (64, 77), (16, 154), (8, 512), (2, 4608)]
LOGIT_SCALES = [0.05, 0.3, 1.0, 3.0, 30.0]


def logits(shape, scale, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g, dtype=torch.float64) * scale).to(dtype)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scale", LOGIT_SCALES)
@pytest.mark.parametrize("alpha", [1.5, 2.0])
def test_exact_alphas_match_the_package_in_float64(shape, scale, alpha):
    x = logits(shape, scale)
    torch.testing.assert_close(entmax(x, alpha), entmax_reference(x, alpha), atol=1e-6, rtol=0)


@pytest.mark.parametrize("shape", [(64, 77), (8, 512)])
@pytest.mark.parametrize("scale", [0.3, 1.0, 3.0])
@pytest.mark.parametrize("alpha", [1.1, 1.25, 1.75, 1.9])
def test_other_alphas_match_the_package_bisection(shape, scale, alpha):
    x = logits(shape, scale)
    torch.testing.assert_close(entmax(x, alpha), entmax_reference(x, alpha), atol=1e-5, rtol=0)


def test_named_maps_are_the_alpha_cases():
    x = logits((16, 77), 2.0)
    assert torch.equal(entmax15(x), entmax(x, 1.5))
    assert torch.equal(sparsemax(x), entmax(x, 2.0))
    torch.testing.assert_close(entmax15(x), entmax_package.entmax15(x, dim=-1), atol=1e-12, rtol=0)


@pytest.mark.parametrize("alpha", [1.25, 1.5, 2.0])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rows_sum_to_one_and_have_exact_zeros(alpha, dtype):
    x = logits((256, 77), 3.0, dtype=dtype)
    p = entmax(x, alpha)
    torch.testing.assert_close(p.sum(-1), torch.ones(256, dtype=dtype), atol=1e-5, rtol=0)
    assert (p >= 0).all()
    zeros = p == 0
    assert zeros.any(dim=-1).all(), "every row of these peaked logits has keys outside the support"
    assert torch.equal(zeros, entmax_reference(x, alpha) == 0) or alpha not in (1.5, 2.0)


def test_dim_argument_and_shape():
    x = logits((3, 77, 5), 2.0)
    torch.testing.assert_close(entmax(x, 1.5, dim=1), entmax(x.transpose(1, 2), 1.5).transpose(1, 2))


@pytest.mark.parametrize("alpha", [1.5, 2.0, 1.3])
def test_minus_infinity_and_fully_masked_rows(alpha):
    x = logits((4, 10), 2.0)
    x[0, 3:] = float("-inf")
    x[1, :] = float("-inf")
    p = entmax(x, alpha)
    assert torch.isfinite(p).all()
    assert (p[0, 3:] == 0).all()
    torch.testing.assert_close(p[0, :3], entmax_reference(x[0, :3], alpha), atol=1e-6, rtol=0)
    assert (p[1] == 0).all()
    torch.testing.assert_close(p[2:], entmax_reference(x[2:], alpha), atol=1e-6, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("alpha", [1.5, 2.0])
def test_half_precision_inputs_are_computed_in_float32(dtype, alpha):
    x = logits((512, 512), 3.0, dtype=dtype)
    p = entmax(x, alpha)
    assert p.dtype == dtype and torch.isfinite(p).all()
    assert torch.equal(p, entmax(x.float(), alpha).to(dtype))
    row_sums = p.float().sum(-1)
    assert (row_sums - 1).abs().max() < 512 * torch.finfo(dtype).eps


def test_alpha_out_of_range_is_an_error():
    with pytest.raises(ValueError, match="alpha"):
        entmax(torch.zeros(3), 1.0)
    with pytest.raises(ValueError, match="alpha"):
        entmax(torch.zeros(3), 2.5)
