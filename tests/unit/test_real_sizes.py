"""Real model shapes and every ComfyUI attention backend's calling convention, headless.

Tiny models never split heads into groups or queries into chunks; real ones do. These tests reach those paths
with the real head widths (Flux: 24 heads of 128; SDXL: 10 of 64) and, where the real token counts would be
slow, with the group bound lowered. The backends are the stand-ins of tests/attention_backends.py: they read
their inputs as ComfyUI's basic, split, sub-quadratic and PyTorch backends do, so that a call with the wrong
head count fails here as it does in ComfyUI.

The full-size checks (SDXL at 2048², Flux at 1024² through the real backends) are opt-in: PLADIS_REAL_SIZE=1
and tests/integration/test_comfyui_backends.py.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from attention_backends import BACKENDS, attention_basic
from checks import assert_differ, assert_finite
from oracles import joint_reference, pladis_reference, sd_like_qkv
from pack import import_pack

from pladis_core import pladis_attention
from pladis_core.joint_attention import additive_mask

pack = import_pack()
joint_forward = pack.nodes.joint_forward
joint_override = pack.nodes.joint_override
Site = pack.nodes.layer_selection.Site
SigmaRange = pack.nodes.step_range.SigmaRange
DOUBLE_0, BLOCK_0 = Site("double", 0, None), Site("block", 0, None)


# ---- helpers -------------------------------------------------------------------------------------------------


def joint_call(func, q, k, v, heads, text_tokens, image_tokens, *, previous=None, family="Flux", **kwargs):
    """One PLADIS-selected attention call, through the override as the layout wrapper sets it up (the pack's
    own modules: a bound lowered in them reaches it)."""
    site = BLOCK_0 if family == "WanModel" else DOUBLE_0
    families = pack.nodes.families
    if family == "WanModel":
        description = families.BY_CLASS["WanModel"]
        layout = families.TokenLayout(slice(0, text_tokens), slice(0, image_tokens), text_tokens)
    else:
        description = families.BY_CLASS["Flux"]
        layout = families.base.text_first(text_tokens, image_tokens)
    forward = joint_forward.JointForward(description, [site], layout)
    override = joint_override.PladisJointAttention(1.5, 2.0, SigmaRange(1.0, 0.0, True), frozenset({site}), previous)
    out = override(func, q, k, v, heads, transformer_options={joint_forward.FORWARD_KEY: forward}, **kwargs)
    assert forward.patched_calls == 1
    return out


def to_heads(t, heads, skip_reshape):
    return t if skip_reshape else t.view(t.shape[0], t.shape[1], heads, -1).transpose(1, 2)


def joint_inputs(batch, heads, dim_head, n_text, n_image, dtype=torch.float32, key_heads=None, seed=0):
    """Joint-attention q (B, H, L, D) and k, v with ``key_heads`` heads, text first, peaked text attention."""
    g = torch.Generator().manual_seed(seed)
    length = n_text + n_image
    key_heads = key_heads or heads
    q = torch.randn(batch, heads, length, dim_head, generator=g) * 1.5
    k = torch.randn(batch, key_heads, length, dim_head, generator=g)
    k[:, :, 0] *= 2.5
    v = torch.randn(batch, key_heads, length, dim_head, generator=g)
    return q.to(dtype), k.to(dtype), v.to(dtype)


def flat(t):
    """(B, H, L, D) as ComfyUI's (B, L, H·D) layout."""
    return t.transpose(1, 2).reshape(t.shape[0], t.shape[2], -1)


def expected_joint(q, k, v, text, image, bias=None, softmax_scale=None):
    """The float64 joint formula, k/v repeated to q's heads, the logits scaled by ``softmax_scale``."""
    repeat = q.shape[1] // k.shape[1]
    k, v = (t.double().repeat_interleave(repeat, 1) for t in (k, v))
    q = q.double()
    if softmax_scale is not None:
        q = q * (softmax_scale * q.shape[-1] ** 0.5)
    return joint_reference(q, k, v, text, image, 1.5, 2.0, bias=bias)


def assert_within_bf16_rounding(out, expected, ulps=2):
    """|out − expected| within ``ulps`` bfloat16 ulps of max|expected| (rounding alone gives ½ ulp)."""
    top = float(expected.abs().max())
    ulp = 2.0 ** (math.floor(math.log2(top)) - 7)
    error = float((out.double() - expected).abs().max())
    assert error <= ulps * ulp, f"{error / ulp:.2f} bf16 ulps"


def assert_close_to(out, expected, relative=1e-5):
    error = float((out.double() - expected).abs().max())
    assert error <= relative * float(expected.abs().max()), error


# ---- the Flux-width dense pass through every backend ----------------------------------------------------------

FLUX_HEADS, FLUX_DIM = 24, 128


def recording(backend, calls):
    """The backend, under its own name, recording the head count of each call and of its q."""

    def record(q, k, v, heads, **kwargs):
        calls.append((heads, q.shape[1] if kwargs.get("skip_reshape") else None))
        return backend(q, k, v, heads, **kwargs)

    record.__name__ = backend.__name__
    return record


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_flux_width_heads_in_groups_through_every_backend(backend, dtype, monkeypatch):
    n_text, n_image = 12, 40
    q, k, v = joint_inputs(1, FLUX_HEADS, FLUX_DIM, n_text, n_image, dtype)
    # Groups of 5 heads (the last of 4), as the real bound gives groups at 4096 + 512 tokens. On CPU the
    # padded copies are float32 whatever the inputs' dtype.
    per_head = (2 * 52 + 2 * 52) * (FLUX_DIM + 1) * 4
    monkeypatch.setattr(pack.pladis_core.joint_attention, "DENSE_GROUP_BYTES", 5 * per_head)
    calls = []
    out = joint_call(recording(BACKENDS[backend], calls), q, k, v, FLUX_HEADS, n_text, n_image, skip_reshape=True)
    # PyTorch attention on CPU gives the dense part and the text mass by its log-sum-exp kernel instead, and so do
    # the plain backends in bfloat16 on CPU (joint_attention.cpu_kernel_for_plain_backend): no head groups there.
    kernel = backend == "attention_pytorch" or dtype == torch.bfloat16
    assert calls == ([] if kernel else [(5, 5)] * 4 + [(4, 4)])
    assert out.shape == (1, n_text + n_image, FLUX_HEADS * FLUX_DIM) and out.dtype == dtype
    expected = expected_joint(q, k, v, slice(0, n_text), slice(n_text, n_text + n_image))
    if dtype == torch.float32:
        assert_close_to(to_heads(out, FLUX_HEADS, False), expected)
    else:
        assert_within_bf16_rounding(to_heads(out, FLUX_HEADS, False), expected)


def test_the_real_group_bound_splits_flux_heads_at_1024_squared():
    """At 4096 image + 512 text tokens the dense pass of 24 heads of 128 does not fit one group: the path the
    test above takes with a lowered bound is the one real Flux calls take (see joint_attention.py)."""
    from pladis_core import joint_attention

    length = 4096 + 512
    for dtype in (torch.float32, torch.bfloat16):
        padded = joint_attention.padded_head_dim(FLUX_DIM, FLUX_DIM, torch.device("cpu"))
        per_head = (4 * length) * padded * torch.finfo(dtype).bits // 8
        assert joint_attention.DENSE_GROUP_BYTES // per_head < FLUX_HEADS


# ---- layouts, masks, GQA, scale, batch --------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("skip_reshape", "skip_output_reshape"), [(True, False), (True, True), (False, False)])
def test_every_layout_with_batch_above_two(backend, skip_reshape, skip_output_reshape, monkeypatch):
    monkeypatch.setattr(pack.pladis_core.joint_attention, "DENSE_GROUP_BYTES", 1)  # one head per group
    heads, n_text, n_image = 3, 5, 11
    q, k, v = joint_inputs(3, heads, 8, n_text, n_image, torch.float64)
    args = (q, k, v) if skip_reshape else tuple(flat(t) for t in (q, k, v))
    out = joint_call(
        BACKENDS[backend],
        *args,
        heads,
        n_text,
        n_image,
        skip_reshape=skip_reshape,
        skip_output_reshape=skip_output_reshape,
    )
    out = out if skip_output_reshape else to_heads(out, heads, False)
    assert_close_to(out, expected_joint(q, k, v, slice(0, n_text), slice(n_text, n_text + n_image)), 1e-9)


def masks(batch, heads, length, n_text):
    """ComfyUI's mask forms: additive (Lq, Lk), (B, Lq, Lk), (B, 1, Lk) like Qwen-Image's, (B, 1, Lq, Lk),
    (B, H, Lq, Lk) with a head dimension; bool with True = attend."""
    keep = torch.ones(batch, heads, length, length, dtype=torch.bool)
    keep[0, :, :, n_text - 2 : n_text] = False  # the last two text tokens of the first element are padding
    keep[-1, 0, :, 1] = False  # one head of the last element may not see text token 1
    additive = torch.zeros(keep.shape, dtype=torch.float64).masked_fill(~keep, -math.inf)
    return {
        "additive-2d": additive[0, 0],
        "additive-3d": additive[:, 0],
        "additive-3d-one-row": additive[:, 0, :1],
        "additive-4d": additive[:, :1],
        "additive-4d-heads": additive,
        "bool-4d-heads": keep,
    }


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", list(masks(2, 3, 16, 5)))
def test_masks_of_every_form_with_heads_in_groups(backend, kind, monkeypatch):
    if kind.startswith("bool") and backend != "attention_pytorch":
        pytest.skip("ComfyUI's other backends read bool masks as key padding only")
    monkeypatch.setattr(pack.pladis_core.joint_attention, "DENSE_GROUP_BYTES", 1)
    heads, n_text, n_image = 3, 5, 11
    q, k, v = joint_inputs(2, heads, 8, n_text, n_image, torch.float64)
    mask = masks(2, heads, n_text + n_image, n_text)[kind]
    out = joint_call(BACKENDS[backend], q, k, v, heads, n_text, n_image, skip_reshape=True, mask=mask)
    expected = expected_joint(q, k, v, slice(0, n_text), slice(n_text, 16), bias=additive_mask(mask, torch.float64))
    assert_finite(out, "out")
    assert_close_to(to_heads(out, heads, False), expected, 1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("skip_reshape", [True, False])
def test_grouped_query_attention(backend, skip_reshape, monkeypatch):
    """k/v with fewer heads than q (ComfyUI ≥ 0.33 passes enable_gqa): query head h reads key head h // 2."""
    monkeypatch.setattr(pack.pladis_core.joint_attention, "DENSE_GROUP_BYTES", 1)
    heads, n_text, n_image = 4, 5, 11
    q, k, v = joint_inputs(2, heads, 8, n_text, n_image, torch.float64, key_heads=2)
    args = (q, k, v) if skip_reshape else tuple(flat(t) for t in (q, k, v))
    out = joint_call(BACKENDS[backend], *args, heads, n_text, n_image, skip_reshape=skip_reshape, enable_gqa=True)
    expected = expected_joint(q, k, v, slice(0, n_text), slice(n_text, 16))
    assert_close_to(to_heads(out, heads, False), expected, 1e-9)


def chained(func, *args, **kwargs):
    """Another node's override set before PLADIS (PLADIS then takes the dense part from it)."""
    return func(*args, **kwargs)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("previous", [None, chained], ids=["direct", "chained"])
def test_a_softmax_scale_of_the_call_is_used(backend, previous, monkeypatch):
    """ComfyUI ≥ 0.33 passes ``scale``: PLADIS must use it, not 1/√D."""
    monkeypatch.setattr(pack.pladis_core.joint_attention, "DENSE_GROUP_BYTES", 1)
    heads, n_text, n_image = 3, 5, 11
    q, k, v = joint_inputs(2, heads, 8, n_text, n_image, torch.float64)
    out = joint_call(
        BACKENDS[backend], q, k, v, heads, n_text, n_image, previous=previous, skip_reshape=True, scale=0.6
    )
    expected = expected_joint(q, k, v, slice(0, n_text), slice(n_text, 16), softmax_scale=0.6)
    assert_close_to(to_heads(out, heads, False), expected, 1e-9)
    default = expected_joint(q, k, v, slice(0, n_text), slice(n_text, 16))
    assert_differ(expected, default, more_than=0.05, what="the scale matters at this size")


def test_a_softmax_scale_in_the_text_cross_attention_of_wan():
    heads, n_text, n_video = 2, 7, 12
    g = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(3, n, heads * 8, generator=g, dtype=torch.float64) for n in (n_video, n_text, n_text))
    out = joint_call(attention_basic, q, k, v, heads, n_text, n_video, family="WanModel", scale=0.5)
    expected = pladis_reference(q * (0.5 * 8**0.5), k, v, heads, 1.5, 2.0)
    torch.testing.assert_close(out, expected, atol=1e-9, rtol=0)


def test_other_arguments_reach_the_backend_unchanged():
    """low_precision_attention, attn_precision and the rest go to the backend that computes the dense part."""
    seen = []

    def attention_sub_quad(q, k, v, heads, **kwargs):  # noqa: F811 - recorded under a backend's name
        seen.append({n: kwargs.get(n) for n in ("low_precision_attention", "attn_precision", "mask")})
        return BACKENDS["attention_sub_quad"](q, k, v, heads, **kwargs)

    q, k, v = joint_inputs(1, 2, 8, 5, 11, torch.float64)
    joint_call(
        attention_sub_quad,
        q,
        k,
        v,
        2,
        5,
        11,
        skip_reshape=True,
        low_precision_attention=False,
        attn_precision=torch.float32,
    )
    assert seen == [{"low_precision_attention": False, "attn_precision": torch.float32, "mask": None}]


class TensorContainer:
    """Comfy Kitchen's single-owner AttentionTensorContainer (ComfyUI ≥ 0.33): peek() and take()."""

    def __init__(self, tensor):
        self.tensor = tensor

    def take(self):
        tensor, self.tensor = self.tensor, None
        return tensor


def test_inputs_in_attention_tensor_containers():
    q, k, v = joint_inputs(1, 2, 8, 5, 11, torch.float64)
    containers = [TensorContainer(t) for t in (q, k, v)]
    out = joint_call(attention_basic, *containers, 2, 5, 11, skip_reshape=True)
    assert all(c.tensor is None for c in containers)  # taken, as ComfyUI's wrapper takes them
    assert_close_to(to_heads(out, 2, False), expected_joint(q, k, v, slice(0, 5), slice(5, 16)), 1e-9)


# ---- real sizes: low-precision inputs, long contexts, repeat padding ----------------------------------------


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_inputs_of_fp8_models_at_flux_width(dtype):
    """fp8-stored weights compute in bf16/fp16: q, k, v arrive in that dtype; the result is finite, in it."""
    q, k, v = joint_inputs(2, FLUX_HEADS, FLUX_DIM, 16, 48, dtype)
    expected = expected_joint(q, k, v, slice(0, 16), slice(16, 64))
    for backend in ("attention_pytorch", "attention_sub_quad"):
        out = joint_call(BACKENDS[backend], q, k, v, FLUX_HEADS, 16, 48, skip_reshape=True)
        assert out.dtype == dtype
        assert_finite(out, "out")
        assert_close_to(to_heads(out, FLUX_HEADS, False), expected, 2**-9 if dtype == torch.float16 else 2**-7)


def test_sdxl_long_prompt_with_one_element_repeat_padded():
    """SDXL attn2 with a 3×77-token prompt: the cond's context is 231 distinct tokens, the uncond's one 77-token
    chunk repeated 3 times by ComfyUI's batching. Each element gets its own formula; the repeated one that of
    its un-repeated context."""
    q, k, v = sd_like_qkv(batch=2, n_query=256, heads=10, dim_head=64, n_key=231, seed=4)
    k[1], v[1] = k[1, :77].repeat(3, 1), v[1, :77].repeat(3, 1)
    out = pladis_attention(q, k, v, 10, chunk_scores=1 << 16)
    torch.testing.assert_close(out[:1].double(), pladis_reference(q[:1], k[:1], v[:1], 10, 1.5, 2.0), atol=2e-5, rtol=0)
    unrepeated = pladis_reference(q[1:], k[1:, :77], v[1:, :77], 10, 1.5, 2.0)
    torch.testing.assert_close(out[1:].double(), unrepeated, atol=2e-5, rtol=0)


@pytest.mark.parametrize("batch", [3, 4])
def test_sdxl_attn2_batches_above_two_in_chunks(batch):
    q, k, v = sd_like_qkv(batch=batch, n_query=64, heads=10, dim_head=64, n_key=154, dtype=torch.bfloat16, seed=batch)
    out = pladis_attention(q, k, v, 10, chunk_scores=1 << 15)  # several query chunks
    expected = pladis_reference(q, k, v, 10, 1.5, 2.0)
    assert out.dtype == torch.bfloat16
    assert_finite(out, "out")
    assert_close_to(out, expected, 2**-7)


SDXL_2048_SCRIPT = r"""
import json, os, sys
import torch
sys.path[:0] = [sys.argv[1], os.path.join(sys.argv[1], "tests")]
from oracles import pladis_reference, sd_like_qkv
from pladis_core import pladis_attention

def rss(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(field))

n_key = int(sys.argv[2])
q, k, v = sd_like_qkv(batch=2, n_query=16384, heads=10, dim_head=64, n_key=n_key, dtype=torch.bfloat16, seed=7)
with torch.inference_mode():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = rss("VmRSS:")
    out = pladis_attention(q, k, v, 10)
    peak = rss("VmHWM:") - before
rows = torch.arange(0, 16384, 97)
expected = pladis_reference(q[:, rows], k, v, 10, 1.5, 2.0)
error = float((out[:, rows].double() - expected).abs().max())
print(json.dumps({"finite": bool(torch.isfinite(out).all()), "error": error, "scale": float(expected.abs().max()),
                  "extra_bytes": peak - out.numel() * out.element_size()}))
"""


@pytest.mark.skipif(not os.environ.get("PLADIS_REAL_SIZE"), reason="full-size run (about 20 s): PLADIS_REAL_SIZE=1")
@pytest.mark.parametrize("n_key", [77, 231])
def test_sdxl_attn2_at_2048_squared(n_key):
    """SDXL at 2048²: attn2 of 2 × 16384 queries × 640 channels (10 heads of 64), bf16, one and three 77-token
    chunks of prompt. Finite, the float64 formula on every 97th row, and the peak memory beyond the output
    under 128 MiB: the resident set's growth (VmHWM) in a fresh process whose large allocations glibc maps and
    unmaps directly, so that freed buffers leave it."""
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", MALLOC_TRIM_THRESHOLD_="0")
    root = str(Path(__file__).resolve().parents[2])
    result = subprocess.run(
        [sys.executable, "-c", SDXL_2048_SCRIPT, root, str(n_key)], env=env, capture_output=True, text=True, check=True
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["finite"]
    assert report["error"] <= 2**-7 * report["scale"]
    assert report["extra_bytes"] < 128 << 20, report
