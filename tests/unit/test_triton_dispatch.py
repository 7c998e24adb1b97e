"""Which engine path runs (PLADIS_BACKEND, devices, shapes), the kernel's custom op under torch.compile, and
the fallbacks: long contexts and a kernel that fails take the eager path, never an error."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os

import pytest
import torch

os.environ.setdefault("TRITON_INTERPRET", "1")  # see tests/conftest.py

from oracles import entmax_reference  # noqa: E402

from pladis_core import dispatch  # noqa: E402
from pladis_core.cross_attention import pladis_attention_heads  # noqa: E402


def operands(n_key=77, n_query=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(2, 2, n_query, 16, generator=g) * 1.6
    k = torch.randn(2, 2, n_key, 16, generator=g)
    v = torch.randn(2, 2, n_key, 16, generator=g)
    return q, k, v


def oracle(q, k, v, alpha=1.5, scale=2.0):
    logits = q.double() @ k.double().transpose(-1, -2) / q.shape[-1] ** 0.5
    dense = logits.softmax(dim=-1)
    return (dense + scale * (entmax_reference(logits, alpha) - dense)) @ v.double()


def run(q, k, v, alpha=1.5):
    out = torch.empty_like(q)
    pladis_attention_heads(q, k, v, alpha, 2.0, out=out)
    return out


def relative_error(actual, expected) -> float:
    return ((actual.double() - expected).abs().max() / expected.abs().max()).item()


@pytest.fixture
def triton_kernels(monkeypatch):
    """The kernels under the interpreter (skipped without triton)."""
    pytest.importorskip("triton")
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    module = importlib.import_module("pladis_core.triton_pladis")
    if not module.INTERPRETED:
        module = importlib.reload(module)
    dispatch._state.kernels["module"] = module
    return module


def test_cpu_tensors_take_the_eager_path_by_default(monkeypatch):
    monkeypatch.delenv(dispatch.BACKEND_ENV, raising=False)
    q, k, v = operands()
    assert relative_error(run(q, k, v), oracle(q, k, v)) <= 1e-5
    assert dispatch.last_backend() == dispatch.BackendChoice("eager", "cpu tensors")
    assert dispatch.backend_log_line() == "PLADIS engine: eager PyTorch (cpu tensors)"


def test_the_environment_variable_forces_eager(monkeypatch, triton_kernels):
    monkeypatch.setenv(dispatch.BACKEND_ENV, "eager")
    assert dispatch.backend_for("cuda").name == "eager"
    monkeypatch.setenv(dispatch.BACKEND_ENV, "auto")
    assert dispatch.backend_for("cuda").name == "triton"


def test_cuda_tensors_take_the_kernel_when_triton_imports(monkeypatch, triton_kernels):
    monkeypatch.delenv(dispatch.BACKEND_ENV, raising=False)
    assert dispatch.backend_for("cuda") == dispatch.BackendChoice("triton", "PLADIS_BACKEND=auto, cuda tensors")
    assert dispatch.backend_for("mps").name == "eager"
    monkeypatch.setitem(dispatch._state.kernels, "module", None)
    monkeypatch.setitem(dispatch._state.kernels, "error", "ImportError: no triton")
    assert dispatch.backend_for("cuda").name == "eager"
    assert "no triton" in dispatch.backend_for("cuda").reason


def test_forcing_triton_on_cpu_needs_the_interpreter(monkeypatch, caplog, triton_kernels):
    monkeypatch.setenv(dispatch.BACKEND_ENV, "triton")
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    monkeypatch.setattr(dispatch._state, "logged", set())
    q, k, v = operands()
    with caplog.at_level(logging.WARNING, logger="pladis"):
        out = run(q, k, v)
    assert dispatch.last_backend().name == "eager"
    assert "TRITON_INTERPRET=1" in caplog.text
    assert relative_error(out, oracle(q, k, v)) <= 1e-5
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    assert relative_error(run(q, k, v), oracle(q, k, v)) <= 1e-5
    assert dispatch.last_backend().name == "triton-interpreter"


def test_an_unknown_setting_is_auto_and_logged(monkeypatch, caplog):
    monkeypatch.setenv(dispatch.BACKEND_ENV, "<b>fast</b>" * 10)
    monkeypatch.setattr(dispatch._state, "logged", set())
    with caplog.at_level(logging.WARNING, logger="pladis"):
        assert dispatch.requested_backend() == "auto"
    assert "must be one of auto, triton, eager" in caplog.text
    assert len(caplog.text) < 300  # the echoed value is capped


@pytest.mark.parametrize("n_key", [1025, 1100])
def test_long_contexts_take_the_eager_path_even_when_triton_is_forced(monkeypatch, triton_kernels, n_key):
    monkeypatch.setenv(dispatch.BACKEND_ENV, "triton")
    q, k, v = operands(n_key, n_query=4)
    assert relative_error(run(q, k, v), oracle(q, k, v)) <= 1e-5
    assert dispatch.last_backend() == dispatch.BackendChoice("eager", f"{n_key} keys > 1024 (long context)")
    assert dispatch.backend_for("cuda", torch.float64).name == "eager"


def test_a_kernel_that_fails_falls_back_to_eager_once_logged(monkeypatch, caplog, triton_kernels):
    monkeypatch.setenv(dispatch.BACKEND_ENV, "triton")
    monkeypatch.setattr(dispatch._state, "logged", set())
    monkeypatch.setattr(dispatch._state, "failed", set())

    def out_of_resources(*args, **kwargs):
        raise RuntimeError("out of resource: shared memory")

    monkeypatch.setattr(triton_kernels, "pladis_attention_heads_fused", out_of_resources)
    # A second copy of the module (a pack imported twice) registers the op again: the state is shared.
    spec = importlib.util.spec_from_file_location("pladis_core._dispatch_copy", dispatch.__file__)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    q, k, v = operands()
    with caplog.at_level(logging.WARNING, logger="pladis"):
        out = run(q, k, v)
        run(q, k, v)
    assert relative_error(out, oracle(q, k, v)) <= 1e-5
    assert dispatch.last_backend() == dispatch.BackendChoice(
        "eager", "the kernel failed for this configuration earlier"
    )
    assert caplog.text.count("the Triton kernel failed") == 1


def test_the_custom_op_compiles_without_graph_breaks_and_equals_eager(monkeypatch, triton_kernels):
    monkeypatch.setenv(dispatch.BACKEND_ENV, "triton")
    q, k, v = operands(77, n_query=8)
    bias = torch.zeros(77)
    bias[70:] = float("-inf")

    def attention(q, k, v):
        out = torch.zeros_like(q) + 1.0
        pladis_attention_heads(q * 1.0, k, v, 1.5, 2.0, out=out, bias=bias, accumulate=True)
        return out * 2.0

    torch._dynamo.reset()
    compiled = torch.compile(attention, fullgraph=True, backend="inductor")
    actual = compiled(q, k, v)
    assert dispatch.last_backend().name == "triton-interpreter"
    with dispatch.forced_backend("eager"):
        expected = attention(q, k, v)
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)
    assert dispatch.last_backend().name == "eager"


def test_operands_beyond_the_kernels_32_bit_offsets_take_the_eager_path(triton_kernels):
    cuda = torch.device("cuda")
    huge = dispatch._Operand((1, 1, 2**31 + 1, 1), torch.float16, cuda)
    keys = dispatch._Operand((1, 1, 77, 1), torch.float16, cuda)
    assert dispatch._choose(keys, keys, keys, keys).name == "triton"
    assert dispatch._choose(huge, keys, keys, huge) == dispatch.BackendChoice(
        "eager", "a head's slice spans 2^31 elements or more"
    )


def test_a_kernel_that_does_not_compile_says_so_in_the_log_and_the_report(monkeypatch, caplog, triton_kernels):
    """A compile error (Triton 3.2–3.6 and the fp64 literal, say) is a notice where the user looks, once."""
    import ast

    from triton.compiler.errors import CompilationError

    monkeypatch.setenv(dispatch.BACKEND_ENV, "triton")
    for name, value in (("logged", set()), ("failed", set()), ("kernels", dict(dispatch._state.kernels))):
        monkeypatch.setattr(dispatch._state, name, value)
    node = ast.parse("norm = zero_row + mass").body[0]

    def front_end_error(*args, **kwargs):
        raise CompilationError("norm = zero_row + mass", node, "initial value for `norm` is of type fp32")

    monkeypatch.setattr(triton_kernels, "pladis_attention_heads_fused", front_end_error)
    expected = f"Triton {triton_kernels.TRITON_VERSION} could not compile the PLADIS kernel (CompilationError: "
    with caplog.at_level(logging.WARNING, logger="pladis"):
        for n_key in (77, 154):  # two configurations, two failed compiles, one notice
            q, k, v = operands(n_key)
            assert relative_error(run(q, k, v), oracle(q, k, v)) <= 1e-5
    notices = [r.getMessage() for r in caplog.records if "could not compile" in r.getMessage()]
    assert len(notices) == 1 and notices[0].startswith(f"PLADIS: {expected}")
    assert notices[0].endswith("); using the slower PyTorch path")
    line = dispatch.backend_log_line()
    assert line.startswith(f"PLADIS engine: eager PyTorch ({expected}") and line.count("could not compile") == 1

    from comfy_standins import make_model_patcher
    from pack import import_pack

    pack = import_pack()
    monkeypatch.delenv(dispatch.BACKEND_ENV)  # auto: the report's device (CPU) takes the eager path
    output = pack.nodes.PLADISModelPatch.execute(
        model=make_model_patcher(), alpha=1.5, scale=2.0, start_percent=0.0, end_percent=1.0, layers="default",
        custom_layers="",
    )  # fmt: skip
    report = output.ui["pladis"][0]
    assert report["engine"] == f"PLADIS engine: eager PyTorch (cpu tensors); {notices[0].removeprefix('PLADIS: ')}"
    assert report["summary"].endswith(report["engine"])
