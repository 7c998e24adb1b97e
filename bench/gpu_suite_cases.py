"""The GPU suite's cases: constants, time budget, dtypes, shapes, inputs and the methods timed per case."""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from pladis_core import dispatch
from pladis_core.cross_attention import pladis_attention
from pladis_core.joint_attention import pladis_joint_attention

ALPHA, SCALE = 1.5, 2.0
_deadline = [float("inf")]


def out_of_time() -> bool:
    return time.perf_counter() > _deadline[0]


DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}


# ----------------------------------------------------------------------------------------------- inputs
def cross_inputs(batch, n_query, heads, dim, n_key, dtype, device, seed=0):
    """Peaked SD-like rows in the (B, N, heads·d) layout."""
    g = torch.Generator(device="cpu").manual_seed(seed)
    q = torch.randn(batch, n_query, heads * dim, generator=g) * 1.6
    k = torch.randn(batch, n_key, heads * dim, generator=g)
    k[:, 0] *= 3.0
    v = torch.randn(batch, n_key, heads * dim, generator=g)
    return tuple(t.to(device=device, dtype=dtype) for t in (q, k, v))


def heads_view(t, heads):
    return t.view(t.shape[0], t.shape[1], heads, -1).transpose(1, 2)


def sdpa(q, k, v, heads):
    out = F.scaled_dot_product_attention(heads_view(q, heads), heads_view(k, heads), heads_view(v, heads))
    return out.transpose(1, 2).reshape(q.shape[0], q.shape[1], -1)


def engine(q, k, v, heads, backend, low_precision_pv=False, repeats=None, alpha=ALPHA):
    """PLADIS through the engine with the path forced; key repeats given (no detection cost)."""
    if repeats is None:
        repeats = torch.ones(q.shape[0], device=q.device)
    if backend == "triton" and low_precision_pv:
        from pladis_core import triton_pladis

        out = torch.empty(q.shape[0], q.shape[1], v.shape[-1], dtype=v.dtype, device=v.device)
        qh, kh, vh, view = (heads_view(t, heads) for t in (q, k, v, out))
        with dispatch.forced_backend("triton"):  # the kernel is called directly: only where it can run
            if not dispatch.use_fused_kernel(qh, kh, vh, view):
                raise RuntimeError(f"the kernel cannot run here ({dispatch.last_backend().reason})")
        triton_pladis.pladis_attention_heads_fused(
            qh, kh, vh, alpha, SCALE, out=view, key_repeats=repeats, low_precision_pv=True
        )
        return out
    with dispatch.forced_backend(backend):
        return pladis_attention(q, k, v, heads, alpha, SCALE, key_repeats=repeats)


# ----------------------------------------------------------------------------------------------- shapes
def shapes(smoke: bool) -> dict:
    if smoke:
        return {
            "sdxl_64": dict(batch=2, n_query=64, heads=2, dim=16, n_key=77),
            "sd15_64": dict(batch=2, n_query=64, heads=2, dim=40, n_key=77),
        }
    return {
        "sdxl_64x64": dict(batch=2, n_query=4096, heads=10, dim=64, n_key=77),
        "sdxl_32x32": dict(batch=2, n_query=1024, heads=20, dim=64, n_key=77),
        "sdxl_64x64_154keys": dict(batch=2, n_query=4096, heads=10, dim=64, n_key=154),
        "sd15_64x64": dict(batch=2, n_query=4096, heads=8, dim=40, n_key=77),
        "sd15_16x16": dict(batch=2, n_query=256, heads=8, dim=160, n_key=77),
    }


def flux_shape(smoke: bool) -> dict:
    if smoke:
        return dict(batch=1, heads=2, dim=16, text=16, image=64)
    return dict(batch=1, heads=24, dim=128, text=512, image=4096)


def joint_inputs(shape, dtype, device, seed=0):
    g = torch.Generator(device="cpu").manual_seed(seed)
    length = shape["text"] + shape["image"]
    q, k, v = (torch.randn(shape["batch"], shape["heads"], length, shape["dim"], generator=g) for _ in range(3))
    k[:, :, 0] *= 2.5
    return tuple(t.to(device=device, dtype=dtype) for t in (q, k, v))


# ----------------------------------------------------------------------------------------------- methods
def cross_methods(q, k, v, heads) -> dict:
    return {
        "sdpa": lambda: sdpa(q, k, v, heads),
        "kernel": lambda: engine(q, k, v, heads, "triton"),
        "kernel_low_precision_pv": lambda: engine(q, k, v, heads, "triton", True),
        "eager": lambda: engine(q, k, v, heads, "eager"),
    }


def joint_methods(q, k, v, text, image) -> dict:
    return {
        "sdpa": lambda: F.scaled_dot_product_attention(q, k, v),
        "kernel": lambda: _joint(q, k, v, text, image, "triton"),
        "eager": lambda: _joint(q, k, v, text, image, "eager"),
    }


def _joint(q, k, v, text, image, backend):
    with dispatch.forced_backend(backend):
        return pladis_joint_attention(q, k, v, text, image, ALPHA, SCALE)
