"""Runs inside a real ComfyUI (its interpreter, its root as working directory) and prints one JSON line.

    python comfyui_backends_runner.py PACK_DIR {basic,split,sub_quad,pytorch} [IMAGE_TOKENS TEXT_TOKENS [HEADS]]

A Flux-width joint-attention call (24 heads of 128; by default 4096 image + 512 text tokens, Flux at 1024²)
in float32 and bfloat16 through one of ComfyUI's own attention backends, with PLADIS's override installed as
the pack installs it and a JointForward as its layout wrapper sets up: ComfyUI's ``wrap_attn`` hands the call
to the override, which calls the backend for the dense part. The result is compared with the float64 joint
formula (tests/oracles.py) on every 64th image row. Smaller checks follow: a softmax ``scale`` and grouped
k/v heads (``enable_gqa``) in the call, and, on ComfyUI ≥ 0.33, inputs in AttentionTensorContainers.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

PACK_DIR, BACKEND = sys.argv[1], sys.argv[2]
IMAGE_TOKENS = int(sys.argv[3]) if len(sys.argv) > 3 else 4096
TEXT_TOKENS = int(sys.argv[4]) if len(sys.argv) > 4 else 512
HEADS = int(sys.argv[5]) if len(sys.argv) > 5 else 24  # fewer: Flux's token counts at 2048² in affordable time
sys.argv = [sys.argv[0], "--cpu"]
sys.path.insert(0, os.getcwd())
sys.path.insert(1, os.path.join(PACK_DIR, "tests"))
sys.path.insert(2, PACK_DIR)

import comfy.options  # noqa: E402

comfy.options.enable_args_parsing()

import torch  # noqa: E402
from comfy.ldm.modules import attention  # noqa: E402
from oracles import joint_reference  # noqa: E402
from pack import import_pack  # noqa: E402

pack = import_pack()
joint_forward = pack.nodes.joint_forward
joint_override = pack.nodes.joint_override
DIM = 128
SITE = pack.nodes.layer_selection.Site("double", 0, None)


def override_and_options(text_tokens: int, image_tokens: int) -> dict:
    """transformer_options as PLADIS's node and layout wrapper leave them for one model call (Flux, one block)."""
    families = pack.nodes.families
    layout = families.base.text_first(text_tokens, image_tokens)
    forward = joint_forward.JointForward(families.BY_CLASS["Flux"], [SITE], layout)
    step_range = pack.nodes.step_range.SigmaRange(1.0, 0.0, True)
    override = joint_override.PladisJointAttention(1.5, 2.0, step_range, frozenset({SITE}))
    return {"optimized_attention_override": override, joint_forward.FORWARD_KEY: forward}


def inputs(heads, key_heads, text, image, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    length = text + image
    q = torch.randn(1, heads, length, DIM, generator=g) * 1.5
    k = torch.randn(1, key_heads, length, DIM, generator=g)
    k[:, :, 0] *= 2.5  # a BOS-like text key that draws much of the mass, as real prompts have
    v = torch.randn(1, key_heads, length, DIM, generator=g)
    return q.to(dtype), k.to(dtype), v.to(dtype)


def expected_rows(q, k, v, text, rows, softmax_scale=None):
    """The float64 joint formula on some image rows (each row depends only on its query)."""
    k, v = (t.double().repeat_interleave(q.shape[1] // t.shape[1], 1) for t in (k, v))
    q = q[:, :, rows].double()
    if softmax_scale is not None:
        q = q * (softmax_scale * DIM**0.5)
    return joint_reference(q, k, v, slice(0, text), slice(0, len(rows)), 1.5, 2.0)


def heads_of(out, heads):
    return out.view(out.shape[0], out.shape[1], heads, -1).transpose(1, 2)


def bf16_ulps(error: float, reference: torch.Tensor) -> float:
    """An error in bfloat16 ulps at max|reference| (rounding to bfloat16 alone is ½ ulp)."""
    return error / 2.0 ** (math.floor(math.log2(float(reference.abs().max()))) - 7)


def call(backend, q, k, v, heads, text, image, **kwargs):
    options = override_and_options(text, image)
    out = backend(q, k, v, heads, skip_reshape=True, transformer_options=options, **kwargs)
    return out, options[joint_forward.FORWARD_KEY].patched_calls


def flux_width(backend, dtype, report):
    name = str(dtype).removeprefix("torch.")
    q, k, v = inputs(HEADS, HEADS, TEXT_TOKENS, IMAGE_TOKENS, dtype)
    rows = list(range(TEXT_TOKENS, TEXT_TOKENS + IMAGE_TOKENS, 64))
    start = time.perf_counter()
    try:
        out, patched = call(backend, q, k, v, HEADS, TEXT_TOKENS, IMAGE_TOKENS)
    except Exception as error:  # the failure is the result: report it (escaped by json) and go on
        report[f"{name}_error"] = f"{type(error).__name__}: {error}"[:400]
        return
    report[f"{name}_seconds"] = round(time.perf_counter() - start, 1)
    expected = expected_rows(q, k, v, TEXT_TOKENS, rows)
    got = heads_of(out, HEADS)[:, :, rows].double()
    error = float((got - expected).abs().max())
    report[f"{name}_patched_calls"] = patched
    report[f"{name}_finite"] = bool(torch.isfinite(out).all())
    report[f"{name}_max_abs"] = float(expected.abs().max())
    report[f"{name}_relative_error"] = error / float(expected.abs().max())
    if dtype == torch.bfloat16:
        report["bfloat16_ulps"] = bf16_ulps(error, expected)
        report["bfloat16_ulps_vs_rounded"] = bf16_ulps(
            float((got - expected.bfloat16().double()).abs().max()), expected
        )
        # For comparison: the unpatched backend's own bfloat16 dense attention against the float64 softmax.
        dense = heads_of(backend(q, k, v, HEADS, skip_reshape=True), HEADS)[:, :, rows].double()
        logits = q[:, :, rows].double() @ k.double().transpose(-1, -2) / DIM**0.5
        dense_error = float((dense - logits.softmax(-1) @ v.double()).abs().max())
        report["bfloat16_unpatched_backend_ulps"] = bf16_ulps(dense_error, expected)


def small_checks(backend, report):
    """A softmax scale in the call, grouped k/v heads, tensor containers: 4 heads, 64 + 16 tokens, float32."""
    text, image, rows = 16, 64, list(range(16, 80))
    q, k, v = inputs(4, 4, text, image, torch.float32, seed=1)
    out, _ = call(backend, q, k, v, 4, text, image, scale=0.15)
    expected = expected_rows(q, k, v, text, rows, softmax_scale=0.15)
    report["scale_relative_error"] = float((heads_of(out, 4)[:, :, rows] - expected).abs().max() / expected.abs().max())

    q, k, v = inputs(4, 2, text, image, torch.float32, seed=2)
    out, _ = call(backend, q, k, v, 4, text, image, enable_gqa=True)
    expected = expected_rows(q, k, v, text, rows)
    report["gqa_relative_error"] = float((heads_of(out, 4)[:, :, rows] - expected).abs().max() / expected.abs().max())

    container = getattr(attention, "AttentionTensorContainer", None)
    report["has_containers"] = container is not None
    if container is not None:
        q, k, v = inputs(4, 4, text, image, torch.float32, seed=3)
        plain, _ = call(backend, q, k, v, 4, text, image)
        boxed, patched = call(backend, *(container(t) for t in (q, k, v)), 4, text, image)
        report["containers_equal"] = bool(torch.equal(plain, boxed)) and patched == 1


def main():
    torch.manual_seed(0)
    backend = getattr(attention, f"attention_{BACKEND}")
    report = {"backend": backend.__name__, "image_tokens": IMAGE_TOKENS, "text_tokens": TEXT_TOKENS, "heads": HEADS}
    report["threads"] = torch.get_num_threads()
    with torch.inference_mode():
        for dtype in (torch.float32, torch.bfloat16):
            flux_width(backend, dtype, report)
        small_checks(backend, report)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
