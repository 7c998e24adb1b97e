"""The eager accelerator path (what MPS, XPU, CUDA without Triton, contexts over 1,024 keys and torch.compile
run) in numbers: aten ops and passes over the score matrix per engine call, recorded on CPU tensors with the
accelerators' solver chosen, and its exactness against the ``entmax`` package in float64.

Definitions, per engine call (``pladis_attention_heads``), for a call that is one chunk of query rows:
- an *op* is an aten op that launches work: every op the dispatcher sees except views and allocations
  (``empty*``), which move no data;
- a *pass over the scores* is an op that reads or writes at least as many elements as the score matrix of
  the chunk (B·H·rows·keys). ``gather`` and ``searchsorted`` read one element, or one binary search, per row of
  a score-sized input and write a column: they are ops, not passes.
"""

from __future__ import annotations

import pytest
import torch
from oracles import entmax_reference
from torch.utils._python_dispatch import TorchDispatchMode

from pladis_core import alpha_entmax
from pladis_core.accelerator_path import CHUNK_SCORES, sorted_threshold
from pladis_core.cross_attention import pladis_attention_heads

ALLOCATIONS = {"empty", "empty_like", "empty_strided", "new_empty"}
PARTIAL_READERS = {"gather", "searchsorted"}
MAX_OPS, MAX_PASSES = 40, {1.5: 13, 2.0: 9}  # the passes reached, listed in the test below

# (batch, heads, query rows, keys, head dim): SDXL attn2 at 1024² (64×64 and 32×32 levels, CFG batch) and the
# Flux image-query × text-key block at 1024² (batch 1, 24 heads, 4096 image × 512 text tokens).
SHAPES = {"sdxl-64": (2, 10, 4096, 77, 64), "sdxl-32": (2, 20, 1024, 77, 64), "flux-block": (1, 24, 4096, 512, 128)}


class OpRecorder(TorchDispatchMode):
    def __init__(self, score_elements: int) -> None:
        super().__init__()
        self.score_elements = score_elements
        self.ops: list[str] = []
        self.passes: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        name = func.overloadpacket.__name__
        if func.is_view or name in ALLOCATIONS:
            return result
        self.ops.append(name)
        outputs = result if isinstance(result, (tuple, list)) else [result]
        inputs = [] if name in PARTIAL_READERS else [*args, *(kwargs or {}).values()]
        sizes = [t.numel() for t in [*inputs, *outputs] if isinstance(t, torch.Tensor)]
        if max(sizes, default=0) >= self.score_elements:
            self.passes.append(name)
        return result


@pytest.fixture
def accelerator_path(monkeypatch):
    monkeypatch.setattr(alpha_entmax, "exact_solver", lambda device: "sort")


def record(shape, alpha, joint: bool):
    batch, heads, n_query, n_key, dim = shape
    assert batch * heads * n_query * n_key <= CHUNK_SCORES, "one chunk per call at these shapes"
    n_query = min(n_query, 256)  # the counts do not depend on the rows of a chunk; the time does
    g = torch.Generator().manual_seed(0)
    q = torch.randn(batch, heads, n_query, dim, generator=g) * 1.6
    k, v = (torch.randn(batch, heads, n_key, dim, generator=g) for _ in range(2))
    out = torch.zeros(batch, heads, n_query, dim)
    # The joint block as pladis_joint_attention hands it to the engine: the correction, added to the dense
    # output, with each row's log-sum-exp over all keys (the CPU/SDPA dense pass gives it).
    options = {"include_dense": False, "accumulate": True, "total_logsumexp": torch.full(q.shape[:3], 9.0)}
    with torch.inference_mode(), OpRecorder(batch * heads * n_query * n_key) as recorder:
        pladis_attention_heads(q, k, v, alpha, 2.0, out=out, **(options if joint else {}))
    return recorder


@pytest.mark.parametrize("alpha", [1.5, 2.0])
@pytest.mark.parametrize("shape", SHAPES)
def test_ops_and_passes_per_call(accelerator_path, shape, alpha):
    joint = shape.startswith("flux")
    recorder = record(SHAPES[shape], alpha, joint)
    assert len(recorder.ops) <= MAX_OPS, recorder.ops
    # GEMM, sort, [shift, x², prefix of x², g: two addcmul] prefix, g, mix (affine, clamp, add), softmax, P·V,
    # and for the joint block the rows' own log-sum-exp.
    assert len(recorder.passes) <= MAX_PASSES[alpha] + joint, recorder.passes
    assert recorder.passes.count("sort") == 1 and recorder.passes.count("matmul") == 2


@pytest.mark.parametrize("n", [77, 154, 512, 4608])
@pytest.mark.parametrize("scale", [0.05, 0.3, 1.6, 3.0])
@pytest.mark.parametrize("alpha", [1.5, 2.0])
def test_threshold_matches_the_package_in_float64(n, scale, alpha):
    g = torch.Generator().manual_seed(n)
    x = torch.randn(64 if n < 4096 else 16, n, generator=g, dtype=torch.float64) * scale
    x[:8, 0] += 4.0  # peaked rows, as a BOS key makes them
    x[8:16] = x[8:16].round()  # ties
    beta, mass = (2, 4.0) if alpha == 1.5 else (1, 1.0)
    for dtype, atol in ((torch.float64, 1e-12), (torch.float32, 1e-6)):
        scores = x.to(dtype)
        sigma, _ = sorted_threshold(scores, beta, mass, masked=False)
        p = (scores - sigma).clamp(min=0) ** beta / mass
        expected = entmax_reference(scores.double(), alpha)
        error = (p.double() - expected).abs().max().item()
        assert error <= atol, f"{dtype}, max error {error:.2e}"


@pytest.mark.parametrize("alpha", [1.5, 2.0])
def test_masked_keys_and_fully_masked_rows(alpha):
    g = torch.Generator().manual_seed(1)
    scores = torch.randn(6, 77, generator=g, dtype=torch.float64)
    scores[:, ::3] = float("-inf")
    scores[0] = float("-inf")
    beta, mass = (2, 4.0) if alpha == 1.5 else (1, 1.0)
    sigma, visible = sorted_threshold(scores.clone(), beta, mass, masked=True)
    p = (scores - sigma).clamp(min=0) ** beta / mass
    assert visible[:, 0].tolist() == [False] + [True] * 5
    assert p[0].abs().max() == 0, "a row without keys has no support"
    error = (p[1:] - entmax_reference(scores[1:], alpha)).abs().max().item()
    assert error <= 1e-12, f"max error {error:.2e}"
