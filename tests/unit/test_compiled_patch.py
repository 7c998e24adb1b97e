"""The attn2 replacement under torch.compile as ComfyUI's TorchCompileModel runs it: no graph break
(fullgraph), and no guard on the transformer options, so one compiled graph serves every step."""

import pytest
import torch
from checks import assert_equal
from oracles import sd_like_qkv
from pack import import_pack

from pladis_core import pladis_attention

pack = import_pack()
PladisCrossAttention = pack.nodes.cross_attention_patch.PladisCrossAttention
SigmaRange = pack.nodes.step_range.SigmaRange


def skip_option_guards(guard_entries):
    """What TorchCompileModel's guard filter does, for the names options have here."""
    return [not any(name in entry.name for name in ("transformer_options", "options")) for entry in guard_entries]


def compile_like_comfyui(function):
    return torch.compile(function, backend="eager", fullgraph=True, options={"guard_filter_fn": skip_option_guards})


def options(sigma: float) -> dict:
    return {"n_heads": 4, "sigmas": torch.tensor([sigma, sigma])}


def foreign_attention(q, k, v, extra_options):
    return pladis_attention(q, k, v, extra_options["n_heads"], scale=0.0) * 0.5


@pytest.mark.parametrize("previous", [None, foreign_attention])
def test_compiled_step_range_is_decided_at_each_call(previous):
    patch = PladisCrossAttention(1.5, 2.0, SigmaRange(5.0, 1.0, whole_schedule=False), previous)
    compiled = compile_like_comfyui(lambda q, k, v, transformer_options: patch(q, k, v, transformer_options))
    q, k, v = sd_like_qkv(n_key=154)
    k[1], v[1] = k[1, :77].repeat(2, 1), v[1, :77].repeat(2, 1)
    # First compiled inside the range; the same graph must then give the unpatched result outside it.
    for sigma in (3.0, 10.0, 0.5, 5.0, 1.0):
        eager = patch(q, k, v, options(sigma))
        torch.testing.assert_close(compiled(q, k, v, options(sigma)), eager, atol=1e-5, rtol=0)
    assert not torch.allclose(patch(q, k, v, options(3.0)), patch(q, k, v, options(10.0)), atol=1e-3)


def test_eager_outside_the_range_stays_the_unpatched_attention_bit_for_bit():
    patch = PladisCrossAttention(1.5, 2.0, SigmaRange(5.0, 1.0, whole_schedule=False))
    q, k, v = sd_like_qkv()
    assert_equal(patch(q, k, v, options(10.0)), patch.unpatched(q, k, v, options(10.0)), "outside the range")


def test_whole_schedule_compiles_to_plain_pladis():
    patch = PladisCrossAttention(1.5, 2.0, SigmaRange(14.6, 0.03, whole_schedule=True))
    compiled = compile_like_comfyui(lambda q, k, v, transformer_options: patch(q, k, v, transformer_options))
    q, k, v = sd_like_qkv()
    torch.testing.assert_close(compiled(q, k, v, options(100.0)), pladis_attention(q, k, v, 4), atol=1e-5, rtol=0)
