import entmax as entmax_package
import pytest
import torch
from checks import assert_all, assert_finite
from oracles import entmax_reference

from pladis_core import entmax, entmax15, sparsemax
from pladis_core.alpha_entmax import EXACT_SOLVERS, exact_solver, finite_row_max, unnormalized_entmax

SHAPES = [(1, 2), (8, 3), (64, 77), (16, 154), (8, 512), (2, 4608)]
LOGIT_SCALES = [0.05, 0.3, 1.0, 3.0, 30.0]


def logits(shape, scale, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g, dtype=torch.float64) * scale).to(dtype)


@pytest.mark.parametrize("solver", EXACT_SOLVERS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scale", LOGIT_SCALES)
@pytest.mark.parametrize("alpha", [1.5, 2.0])
def test_exact_alphas_match_the_package_in_float64(shape, scale, alpha, solver):
    x = logits(shape, scale)
    torch.testing.assert_close(entmax(x, alpha, solver=solver), entmax_reference(x, alpha), atol=1e-6, rtol=0)


@pytest.mark.parametrize("n", [77, 1024, 4608])
@pytest.mark.parametrize("scale", [0.05, 3.0, 30.0])
@pytest.mark.parametrize("alpha", [1.5, 2.0])
def test_sort_solver_in_float32_is_within_float32_rounding_for_long_rows(n, scale, alpha):
    x = logits((8, n), scale)
    p = entmax(x.float(), alpha, solver="sort").double()
    reference = entmax_reference(x, alpha)
    assert (p - reference).abs().max() <= 5e-6 * reference.abs().max()


@pytest.mark.parametrize("solver", EXACT_SOLVERS)
@pytest.mark.parametrize("alpha", [1.5, 2.0])
def test_repeated_keys_get_their_share_of_the_unrepeated_result(alpha, solver):
    x = logits((6, 77), 2.0)
    repeats = torch.tensor([1.0, 2.0, 3.0, 1.0, 2.0, 3.0], dtype=torch.float64)[:, None]
    padded = torch.full((6, 231), float("-inf"), dtype=torch.float64)  # masked keys after the copies
    for i, m in enumerate(repeats[:, 0].tolist()):
        padded[i, : 77 * int(m)] = x[i].repeat(int(m))
    values, factor = unnormalized_entmax(padded, finite_row_max(padded), alpha, repeats, solver=solver)
    p = values * factor
    for i, m in enumerate(repeats[:, 0].tolist()):
        copies = p[i, : 77 * int(m)].view(int(m), 77)
        torch.testing.assert_close(copies, entmax_reference(x[i], alpha).expand(int(m), 77) / m, atol=1e-9, rtol=0)


def test_the_solver_choice():
    assert exact_solver(torch.device("cpu")) == "refine"
    assert exact_solver(torch.device("cuda")) == "sort"
    assert exact_solver(torch.device("mps")) == "sort"
    compiled = torch.compile(lambda x: x + (1.0 if exact_solver(x.device) == "sort" else 0.0), backend="eager")
    assert torch.equal(compiled(torch.zeros(2)), torch.ones(2))
    with pytest.raises(ValueError, match="solver"):
        entmax(torch.zeros(3), 1.5, solver="fast")


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
    assert_all(p >= 0, "p ≥ 0")
    zeros = p == 0
    assert_all(zeros.any(dim=-1), "every row of these peaked logits has keys outside the support")
    assert torch.equal(zeros, entmax_reference(x, alpha) == 0) or alpha not in (1.5, 2.0)


def test_dim_argument_and_shape():
    x = logits((3, 77, 5), 2.0)
    torch.testing.assert_close(entmax(x, 1.5, dim=1), entmax(x.transpose(1, 2), 1.5).transpose(1, 2))


@pytest.mark.parametrize("solver", EXACT_SOLVERS)
@pytest.mark.parametrize("alpha", [1.5, 2.0, 1.3])
def test_minus_infinity_and_fully_masked_rows(alpha, solver):
    x = logits((4, 10), 2.0)
    x[0, 3:] = float("-inf")
    x[1, :] = float("-inf")
    p = entmax(x, alpha, solver=solver)
    assert_finite(p, "p")
    assert_all(p[0, 3:] == 0, "p is 0 at the -inf logits")
    torch.testing.assert_close(p[0, :3], entmax_reference(x[0, :3], alpha), atol=1e-6, rtol=0)
    assert_all(p[1] == 0, "the fully masked row is 0")
    torch.testing.assert_close(p[2:], entmax_reference(x[2:], alpha), atol=1e-6, rtol=0)


@pytest.mark.parametrize("solver", EXACT_SOLVERS)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("alpha", [1.5, 2.0])
def test_half_precision_inputs_are_computed_in_float32(dtype, alpha, solver):
    x = logits((512, 512), 3.0, dtype=dtype)
    p = entmax(x, alpha, solver=solver)
    assert p.dtype == dtype
    assert_finite(p, "p")
    assert torch.equal(p, entmax(x.float(), alpha, solver=solver).to(dtype))
    row_sums = p.float().sum(-1)
    assert (row_sums - 1).abs().max() < 512 * torch.finfo(dtype).eps


def test_alpha_out_of_range_is_an_error():
    with pytest.raises(ValueError, match="alpha"):
        entmax(torch.zeros(3), 1.0)
    with pytest.raises(ValueError, match="alpha"):
        entmax(torch.zeros(3), 2.5)
