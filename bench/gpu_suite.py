"""GPU tests and benchmarks of PLADIS in one unattended run: results as JSON and text under --out.

    python bench/gpu_suite.py [--out gpu_results] [--smoke] [--sections correctness,per_call,tiles,sdxl,flux]

Needs only torch (+ triton for the kernel) and this repository: no network, no ComfyUI. Sections:

- environment: versions, device, which engine path would run (pladis_core.dispatch).
- correctness: the fused kernel against a float64 oracle, on the GPU, at SDXL / SD1.5 / Flux shapes in
  fp16/bf16/fp32 (rows subsampled for the oracle), α ∈ {1.5, 2, 1.75}, key repeats, the joint correction.
- per_call: one attention call, kernel vs eager vs SDPA (and the kernel with W·V on the tensor cores),
  CUDA events, warm-up, median of N, at SDXL (2×4096×640 / 10 heads; 2×1024×1280 / 20 heads), SD1.5 and
  Flux (24×128, 4096 image + 512 text, joint correction on top of the dense pass) shapes in fp16/bf16.
- tiles: a small sweep of the kernel's BLOCK_M / num_warps at the SDXL shape.
- sdxl: one step of a UNet with SDXL's architecture (channels 320/640/1280, transformer depths 0/2/10,
  70 cross-attentions, context 2048, 1024² → 128² latent, batch 2, fp16, random weights), PLADIS on every
  cross-attention vs unpatched, with peak memory.
- flux: one step of a Flux-width DiT (hidden 3072, 24 heads × 128, double- and single-stream blocks, 4096
  image + 512 text tokens, bf16, random weights, a few blocks), PLADIS joint attention vs plain SDPA.

The two models are our own minimal PyTorch modules: they reproduce the attention shapes, layer counts and
the proportions of matrix products/convolutions of the real architectures, not their weights or every
detail (no RoPE, simplified embeddings). Every section runs in its own try/except: a failure is recorded,
the rest still runs. ``--smoke`` runs tiny shapes on any device (CPU: the eager path) to check the script.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
import traceback
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pladis_core import dispatch  # noqa: E402
from pladis_core.cross_attention import pladis_attention  # noqa: E402
from pladis_core.joint_attention import pladis_joint_attention  # noqa: E402

ALPHA, SCALE = 1.5, 2.0
# Correctness before anything is timed; then the most useful first: the later sections are skipped when the
# time budget (--budget-s) runs out.
SECTIONS = ("correctness", "per_call", "sdxl", "flux", "tiles")
_deadline = [float("inf")]


def out_of_time() -> bool:
    return time.perf_counter() > _deadline[0]


DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}


# ----------------------------------------------------------------------------------------------- helpers
def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ms(fn, device: torch.device, warmup: int, repeats: int) -> dict:
    """Median (and min/max) of ``repeats`` timed calls after ``warmup`` calls; CUDA events on a GPU."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    samples = []
    for _ in range(repeats):
        if device.type == "cuda":
            start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            stop.record()
            stop.synchronize()
            samples.append(start.elapsed_time(stop))
        else:
            t0 = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - t0) * 1e3)
    return {"median_ms": statistics.median(samples), "min_ms": min(samples), "max_ms": max(samples), "n": repeats}


def peak_memory_mb(fn, device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    fn()
    synchronize(device)
    return (torch.cuda.max_memory_allocated(device) - base) / 2**20


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


def oracle_rows(q, k, v, heads, alpha, rows, repeats=None):
    """Float64 PLADIS for the first ``rows`` queries (entmax by sorting, exact), (B, rows, heads·dv)."""
    qh, kh, vh = (heads_view(t[:, :rows] if t is q else t, heads).double() for t in (q, k, v))
    logits = qh @ kh.transpose(-1, -2) / qh.shape[-1] ** 0.5
    dense = logits.softmax(-1)
    sparse = entmax_float64(logits, alpha, 1.0 if repeats is None else repeats.double().view(-1, 1, 1, 1))
    out = (dense + SCALE * (sparse - dense)) @ vh
    return out.transpose(1, 2).reshape(q.shape[0], -1, vh.shape[1] * vh.shape[-1])


def entmax_float64(z, alpha, repeats):
    """α-entmax by bisection in float64 (200 steps, exact to rounding) with target mass m (key repeats)."""
    beta = 1.0 / (alpha - 1.0)
    u = (z - z.amax(-1, keepdim=True)) * (alpha - 1.0)
    lo = -((torch.ones_like(u[..., :1]) * repeats) ** (1.0 / beta))
    hi = torch.zeros_like(lo)
    for _ in range(200):
        mid = (lo + hi) / 2
        above = (u - mid).clamp(min=0).pow(beta).sum(-1, keepdim=True) >= repeats
        lo, hi = torch.where(above, mid, lo), torch.where(above, hi, mid)
    p = (u - lo).clamp(min=0).pow(beta)
    return p / p.sum(-1, keepdim=True)


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


# ----------------------------------------------------------------------------------------------- sections
def section_environment(device, args) -> dict:
    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor(),
        "smoke": args.smoke,
        "engine_would_run": dispatch.backend_log_line(device),
    }
    try:
        import triton

        info["triton"] = triton.__version__
    except Exception as error:
        info["triton"] = f"unavailable: {error}"
    return info


def section_correctness(device, args) -> dict:
    results = []
    rows = 64 if args.smoke else 256
    for index, (name, shape) in enumerate(shapes(args.smoke).items()):
        for dtype_name in ("fp16", "bf16", "fp32"):
            for alpha in (1.5, 2.0, 1.75):
                # Every distinct case compiles a kernel: other α and fp32 on the first shape only.
                if (alpha != 1.5 or dtype_name == "fp32") and index > 0:
                    continue
                q, k, v = cross_inputs(**shape, dtype=DTYPES[dtype_name], device=device)
                heads = shape["heads"]
                repeats = torch.tensor([1.0, 2.0], device=device)[: shape["batch"]]
                if shape["n_key"] % 2 == 0:  # the second element's context is its first half twice
                    half = shape["n_key"] // 2
                    k[1, half:], v[1, half:] = k[1, :half], v[1, :half]
                else:
                    repeats = torch.ones_like(repeats)
                for backend, low in (("triton", False), ("triton", True), ("eager", False)):
                    case = dict(shape=name, dtype=dtype_name, alpha=alpha)
                    if out_of_time():
                        results.append(dict(case, skipped="time budget"))
                        continue
                    try:
                        started = time.perf_counter()
                        out = engine(q, k, v, heads, backend, low, repeats, alpha)
                        synchronize(device)
                        case["first_call_s"] = round(time.perf_counter() - started, 2)  # Triton's compile included
                        case["path"] = "triton (low-precision W·V)" if low else dispatch.last_backend().name
                        expected = oracle_rows(q.float(), k.float(), v.float(), heads, alpha, rows, repeats)
                        error = (out[:, :rows].double() - expected).abs()
                        scale_ref = expected.abs()
                        eps = {"fp16": 2.0**-10, "bf16": 2.0**-7, "fp32": 0.0}[dtype_name]
                        case["max_rel_error"] = float(error.max() / scale_ref.max())
                        case["within_tolerance"] = bool((error <= eps * scale_ref + 1e-5 * scale_ref.max()).all())
                    except Exception as error:
                        case["error"] = f"{type(error).__name__}: {error}"[:300]
                    results.append(case)
    # Joint correction (Flux image rows × text keys) on top of the dense pass.
    shape = flux_shape(args.smoke)
    for dtype_name in ("bf16", "fp16"):
        q, k, v = joint_inputs(shape, DTYPES[dtype_name], device)
        text, image = slice(0, shape["text"]), slice(shape["text"], shape["text"] + shape["image"])
        for backend in ("triton", "eager"):
            with dispatch.forced_backend(backend):
                out = pladis_joint_attention(q, k, v, text, image, ALPHA, SCALE)
                ran = dispatch.last_backend().name
            sub = slice(shape["text"], shape["text"] + rows)
            qd, kd, vd = (t.double() for t in (q, k, v))
            logits = qd[:, :, sub] @ kd.transpose(-1, -2) / shape["dim"] ** 0.5
            dense = logits.softmax(-1)
            block = dense[..., text]
            mass = block.sum(-1, keepdim=True)
            weights = dense.clone()
            weights[..., text] = block + SCALE * (mass * entmax_float64(logits[..., text], ALPHA, 1.0) - block)
            expected = weights @ vd
            error = (out[:, :, sub].double() - expected).abs()
            relative = float(error.max() / expected.abs().max())
            # The dense part is SDPA's (flash attention's own rounding): a looser bound than the cross cases'.
            eps = {"fp16": 2.0**-10, "bf16": 2.0**-7}[dtype_name]
            results.append(
                dict(shape="flux_joint", dtype=dtype_name, alpha=ALPHA, path=ran, max_rel_error=relative,
                     within_tolerance=relative <= 4 * eps)
            )  # fmt: skip
    checked = [r for r in results if r.get("path") in ("triton", "triton-interpreter") and "within_tolerance" in r]
    return {"cases": results, "all_kernel_cases_within_tolerance": all(r["within_tolerance"] for r in checked)}


def timed_row(row: dict, methods: dict, device, warmup: int, repeats: int) -> dict:
    """``row`` with each method's timing (or its error) and its ratio to SDPA's."""
    with torch.inference_mode():
        for method, fn in methods.items():
            try:
                row[method] = time_ms(fn, device, warmup, repeats)
            except Exception as error:
                row[method] = {"error": f"{type(error).__name__}: {error}"[:300]}
    base = row["sdpa"].get("median_ms")
    for method in methods:
        if base and "median_ms" in row[method]:
            row[f"{method}_over_sdpa"] = row[method]["median_ms"] / base
    return row


def section_per_call(device, args) -> dict:
    warmup, repeats = (1, 3) if args.smoke else (10, 50)
    results = []
    for name, shape in shapes(args.smoke).items():
        for dtype_name in ("fp16", "bf16"):
            if out_of_time():
                results.append(dict(shape=name, dtype=dtype_name, skipped="time budget"))
                continue
            q, k, v = cross_inputs(**shape, dtype=DTYPES[dtype_name], device=device)
            heads = shape["heads"]
            methods = cross_methods(q, k, v, heads)
            row = timed_row(dict(shape=name, dtype=dtype_name), methods, device, warmup, repeats)
            with torch.inference_mode(), dispatch.forced_backend("triton"):
                engine(q, k, v, heads, "triton")
                row["kernel_path"] = dispatch.last_backend().name
            results.append(row)
    # Flux joint attention: dense SDPA over all tokens, then the correction on image rows × text keys.
    shape = flux_shape(args.smoke)
    for dtype_name in ("bf16", "fp16"):
        q, k, v = joint_inputs(shape, DTYPES[dtype_name], device)
        text, image = slice(0, shape["text"]), slice(shape["text"], shape["text"] + shape["image"])
        methods = joint_methods(q, k, v, text, image)
        results.append(timed_row(dict(shape="flux_joint", dtype=dtype_name), methods, device, warmup, repeats))
    return {"cases": results}


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


def section_tiles(device, args) -> dict:
    if device.type != "cuda":
        return {"skipped": "no GPU"}
    from pladis_core import triton_pladis

    shape = shapes(False)["sdxl_64x64"]
    q, k, v = cross_inputs(**shape, dtype=torch.float16, device=device)
    results = []
    try:
        for block_m, warps in ((16, 4), (32, 4), (32, 8), (64, 4), (64, 8), (128, 8)):
            if not out_of_time():
                triton_pladis.BLOCK_M_OVERRIDE, triton_pladis.NUM_WARPS_OVERRIDE = block_m, warps
                try:
                    timing = time_ms(lambda: engine(q, k, v, shape["heads"], "triton"), device, 5, 30)
                    results.append(dict(block_m=block_m, num_warps=warps, **timing))
                except Exception as error:
                    results.append(dict(block_m=block_m, num_warps=warps, error=str(error)[:300]))
    finally:
        triton_pladis.BLOCK_M_OVERRIDE = triton_pladis.NUM_WARPS_OVERRIDE = None
    return {"shape": "sdxl_64x64 fp16", "cases": results}


# ----------------------------------------------------------------------------------------------- models
class PatchableCrossAttention(nn.Module):
    """Cross-attention (heads of 64 channels); ``pladis`` switches SDPA for PLADIS attention."""

    pladis = False

    def __init__(self, channels, context_dim, head_dim=64):
        super().__init__()
        self.heads = channels // head_dim
        self.to_q = nn.Linear(channels, channels, bias=False)
        self.to_k = nn.Linear(context_dim, channels, bias=False)
        self.to_v = nn.Linear(context_dim, channels, bias=False)
        self.to_out = nn.Linear(channels, channels)

    def forward(self, x, context):
        q, k, v = self.to_q(x), self.to_k(context), self.to_v(context)
        if PatchableCrossAttention.pladis:
            repeats = torch.ones(x.shape[0], device=x.device)
            out = pladis_attention(q, k, v, self.heads, ALPHA, SCALE, key_repeats=repeats)
        else:
            out = sdpa(q, k, v, self.heads)
        return self.to_out(out)


class SelfAttention(nn.Module):
    def __init__(self, channels, head_dim=64):
        super().__init__()
        self.heads = channels // head_dim
        self.qkv = nn.Linear(channels, 3 * channels, bias=False)
        self.to_out = nn.Linear(channels, channels)

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        return self.to_out(sdpa(q, k, v, self.heads))


class TransformerBlock(nn.Module):
    """SD's BasicTransformerBlock: self-attention, cross-attention, GEGLU feed-forward (4×)."""

    def __init__(self, channels, context_dim):
        super().__init__()
        self.norms = nn.ModuleList(nn.LayerNorm(channels) for _ in range(3))
        self.attn1 = SelfAttention(channels)
        self.attn2 = PatchableCrossAttention(channels, context_dim)
        self.ff_in = nn.Linear(channels, 8 * channels)
        self.ff_out = nn.Linear(4 * channels, channels)

    def forward(self, x, context):
        x = x + self.attn1(self.norms[0](x))
        x = x + self.attn2(self.norms[1](x), context)
        hidden, gate = self.ff_in(self.norms[2](x)).chunk(2, dim=-1)
        return x + self.ff_out(hidden * F.gelu(gate))


class SpatialTransformer(nn.Module):
    def __init__(self, channels, depth, context_dim):
        super().__init__()
        self.norm = nn.GroupNorm(32, channels)
        self.proj_in = nn.Linear(channels, channels)
        self.blocks = nn.ModuleList(TransformerBlock(channels, context_dim) for _ in range(depth))
        self.proj_out = nn.Linear(channels, channels)

    def forward(self, x, context):
        b, c, h, w = x.shape
        y = self.proj_in(self.norm(x).flatten(2).transpose(1, 2))
        for block in self.blocks:
            y = block(y, context)
        return x + self.proj_out(y).transpose(1, 2).reshape(b, c, h, w)


class ResBlock(nn.Module):
    def __init__(self, channels_in, channels_out, embed_dim):
        super().__init__()
        self.in_layers = nn.Sequential(
            nn.GroupNorm(32, channels_in), nn.SiLU(), nn.Conv2d(channels_in, channels_out, 3, padding=1)
        )
        self.embed = nn.Linear(embed_dim, channels_out)
        self.out_layers = nn.Sequential(
            nn.GroupNorm(32, channels_out), nn.SiLU(), nn.Conv2d(channels_out, channels_out, 3, padding=1)
        )
        self.skip = nn.Identity() if channels_in == channels_out else nn.Conv2d(channels_in, channels_out, 1)

    def forward(self, x, embed):
        h = self.in_layers(x) + self.embed(F.silu(embed))[:, :, None, None]
        return self.skip(x) + self.out_layers(h)


class UNetLike(nn.Module):
    """SDXL's UNet layout: 3 levels, 2 res blocks down / 3 up, transformer depth per level, middle block."""

    def __init__(self, channels=320, mult=(1, 2, 4), depths=(0, 2, 10), context_dim=2048, adm_dim=2816):
        super().__init__()
        embed_dim = 4 * channels
        self.channels = channels
        self.time_embed = nn.Sequential(nn.Linear(channels, embed_dim), nn.SiLU(), nn.Linear(embed_dim, embed_dim))
        self.label_embed = nn.Sequential(nn.Linear(adm_dim, embed_dim), nn.SiLU(), nn.Linear(embed_dim, embed_dim))
        self.conv_in = nn.Conv2d(4, channels, 3, padding=1)
        self.down, skips, ch = nn.ModuleList(), [channels], channels
        for level, (m, depth) in enumerate(zip(mult, depths, strict=True)):
            for _ in range(2):
                self.down.append(self._stage(ch, channels * m, depth, embed_dim, context_dim))
                ch = channels * m
                skips.append(ch)
            if level < len(mult) - 1:
                self.down.append(nn.Conv2d(ch, ch, 3, stride=2, padding=1))
                skips.append(ch)
        self.middle = nn.ModuleList(
            [ResBlock(ch, ch, embed_dim), SpatialTransformer(ch, depths[-1], context_dim), ResBlock(ch, ch, embed_dim)]
        )
        self.up = nn.ModuleList()
        for level in reversed(range(len(mult))):
            for i in range(3):
                self.up.append(
                    self._stage(ch + skips.pop(), channels * mult[level], depths[level], embed_dim, context_dim)
                )
                ch = channels * mult[level]
                if level > 0 and i == 2:
                    self.up.append(nn.Upsample(scale_factor=2.0, mode="nearest"))
                    self.up.append(nn.Conv2d(ch, ch, 3, padding=1))
        self.out = nn.Sequential(nn.GroupNorm(32, ch), nn.SiLU(), nn.Conv2d(ch, 4, 3, padding=1))

    @staticmethod
    def _stage(channels_in, channels_out, depth, embed_dim, context_dim):
        layers = [ResBlock(channels_in, channels_out, embed_dim)]
        if depth:
            layers.append(SpatialTransformer(channels_out, depth, context_dim))
        return nn.ModuleList(layers)

    def _run(self, layer, x, embed, context):
        if isinstance(layer, nn.ModuleList):
            for sub in layer:
                x = self._run(sub, x, embed, context)
            return x
        if isinstance(layer, ResBlock):
            return layer(x, embed)
        if isinstance(layer, SpatialTransformer):
            return layer(x, context)
        return layer(x)

    def forward(self, x, timesteps, context, label):
        half = self.channels // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, device=x.device) / half)
        t = timesteps[:, None].float() * freqs[None]
        embed = self.time_embed(torch.cat([t.cos(), t.sin()], dim=-1).to(x.dtype)) + self.label_embed(label)
        h, skips = self.conv_in(x), []
        skips.append(h)
        for layer in self.down:
            h = self._run(layer, h, embed, context)
            skips.append(h)
        h = self._run(self.middle, h, embed, context)
        for layer in self.up:
            if isinstance(layer, nn.ModuleList):
                h = torch.cat([h, skips.pop()], dim=1)
            h = self._run(layer, h, embed, context)
        return self.out(h)


class JointAttention:
    pladis = False
    text_tokens = 0


def joint_attention(q, k, v):
    if JointAttention.pladis:
        text = slice(0, JointAttention.text_tokens)
        image = slice(JointAttention.text_tokens, q.shape[2])
        return pladis_joint_attention(q, k, v, text, image, ALPHA, SCALE)
    return F.scaled_dot_product_attention(q, k, v)


class DoubleBlock(nn.Module):
    """Flux double-stream block: per-stream modulation, qkv and MLP; one joint attention over both."""

    def __init__(self, hidden, heads):
        super().__init__()
        self.heads = heads
        self.mod = nn.Linear(hidden, 12 * hidden)
        self.img_qkv, self.txt_qkv = nn.Linear(hidden, 3 * hidden), nn.Linear(hidden, 3 * hidden)
        self.img_proj, self.txt_proj = nn.Linear(hidden, hidden), nn.Linear(hidden, hidden)
        self.img_mlp = nn.Sequential(nn.Linear(hidden, 4 * hidden), nn.GELU("tanh"), nn.Linear(4 * hidden, hidden))
        self.txt_mlp = nn.Sequential(nn.Linear(hidden, 4 * hidden), nn.GELU("tanh"), nn.Linear(4 * hidden, hidden))

    def forward(self, img, txt, vec):
        m = self.mod(F.silu(vec))[:, None].chunk(12, dim=-1)
        n_txt = txt.shape[1]
        img_in = F.layer_norm(img, img.shape[-1:]) * (1 + m[1]) + m[0]
        txt_in = F.layer_norm(txt, txt.shape[-1:]) * (1 + m[7]) + m[6]
        qkv = torch.cat([self.txt_qkv(txt_in), self.img_qkv(img_in)], dim=1)
        q, k, v = (t.unflatten(-1, (self.heads, -1)).transpose(1, 2) for t in qkv.chunk(3, dim=-1))
        q, k = F.rms_norm(q, q.shape[-1:]), F.rms_norm(k, k.shape[-1:])
        attn = joint_attention(q, k, v).transpose(1, 2).flatten(2)
        img = img + m[2] * self.img_proj(attn[:, n_txt:])
        txt = txt + m[8] * self.txt_proj(attn[:, :n_txt])
        img = img + m[5] * self.img_mlp(F.layer_norm(img, img.shape[-1:]) * (1 + m[4]) + m[3])
        txt = txt + m[11] * self.txt_mlp(F.layer_norm(txt, txt.shape[-1:]) * (1 + m[10]) + m[9])
        return img, txt


class SingleBlock(nn.Module):
    """Flux single-stream block: fused qkv + MLP input, one joint attention, fused output projection."""

    def __init__(self, hidden, heads):
        super().__init__()
        self.heads, self.hidden = heads, hidden
        self.mod = nn.Linear(hidden, 3 * hidden)
        self.linear1 = nn.Linear(hidden, 7 * hidden)
        self.linear2 = nn.Linear(5 * hidden, hidden)

    def forward(self, x, vec):
        shift, scale, gate = self.mod(F.silu(vec))[:, None].chunk(3, dim=-1)
        qkv, mlp = self.linear1(F.layer_norm(x, x.shape[-1:]) * (1 + scale) + shift).split(
            [3 * self.hidden, 4 * self.hidden], -1
        )
        q, k, v = (t.unflatten(-1, (self.heads, -1)).transpose(1, 2) for t in qkv.chunk(3, dim=-1))
        q, k = F.rms_norm(q, q.shape[-1:]), F.rms_norm(k, k.shape[-1:])
        attn = joint_attention(q, k, v).transpose(1, 2).flatten(2)
        return x + gate * self.linear2(torch.cat([attn, F.gelu(mlp, approximate="tanh")], dim=-1))


class DiTLike(nn.Module):
    def __init__(self, hidden=3072, heads=24, double=2, single=4, in_channels=64, text_dim=4096):
        super().__init__()
        self.img_in, self.txt_in = nn.Linear(in_channels, hidden), nn.Linear(text_dim, hidden)
        self.vec_in = nn.Sequential(nn.Linear(256, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.double_blocks = nn.ModuleList(DoubleBlock(hidden, heads) for _ in range(double))
        self.single_blocks = nn.ModuleList(SingleBlock(hidden, heads) for _ in range(single))
        self.out = nn.Linear(hidden, in_channels)

    def forward(self, img, txt, vec):
        img, txt, vec = self.img_in(img), self.txt_in(txt), self.vec_in(vec)
        for block in self.double_blocks:
            img, txt = block(img, txt, vec)
        x = torch.cat([txt, img], dim=1)
        for block in self.single_blocks:
            x = block(x, vec)
        return self.out(x[:, txt.shape[1] :])


def _patched_vs_unpatched(step, flag_owner, device, warmup, repeats) -> dict:
    result = {}
    with torch.inference_mode():
        for name, on in (("unpatched", False), ("pladis", True)):
            flag_owner.pladis = on
            try:
                result[name] = time_ms(step, device, warmup, repeats)
                result[name]["peak_memory_mb"] = peak_memory_mb(step, device)
                result[name]["output_finite"] = bool(torch.isfinite(step()).all())
            finally:
                flag_owner.pladis = False
        if "median_ms" in result.get("unpatched", {}) and "median_ms" in result.get("pladis", {}):
            result["pladis_over_unpatched"] = result["pladis"]["median_ms"] / result["unpatched"]["median_ms"]
    return result


def section_sdxl(device, args) -> dict:
    if args.smoke:
        model_args, latent, batch, ctx = dict(channels=32, depths=(0, 1, 1), context_dim=64, adm_dim=16), 16, 2, 64
        dtype = torch.float32 if device.type == "cpu" else torch.float16
    else:
        model_args, latent, batch, ctx, dtype = dict(), 128, 2, 2048, torch.float16
    torch.manual_seed(0)
    with torch.device(device):
        model = UNetLike(**model_args).to(dtype).eval()
    x = torch.randn(batch, 4, latent, latent, device=device, dtype=dtype)
    context = torch.randn(batch, 77, ctx, device=device, dtype=dtype)
    label = torch.randn(batch, model_args.get("adm_dim", 2816), device=device, dtype=dtype)
    timesteps = torch.full((batch,), 500, device=device)
    n_cross = sum(isinstance(m, PatchableCrossAttention) for m in model.modules())
    warmup, repeats = (1, 2) if args.smoke else (3, 10)
    result = _patched_vs_unpatched(
        lambda: model(x, timesteps, context, label), PatchableCrossAttention, device, warmup, repeats
    )
    with dispatch.forced_backend("auto"):
        PatchableCrossAttention.pladis = True
        with torch.inference_mode():
            model(x, timesteps, context, label)
        PatchableCrossAttention.pladis = False
    result.update(
        cross_attention_layers=n_cross, parameters_m=sum(p.numel() for p in model.parameters()) / 1e6,
        latent=latent, batch=batch, dtype=str(dtype), engine_path=dispatch.backend_log_line(),
    )  # fmt: skip
    return result


def section_flux(device, args) -> dict:
    if args.smoke:
        model_args, n_img, n_txt = dict(hidden=64, heads=2, double=1, single=1, text_dim=32), 64, 16
        dtype = torch.float32 if device.type == "cpu" else torch.bfloat16
    else:
        model_args, n_img, n_txt, dtype = dict(hidden=3072, heads=24, double=2, single=4), 4096, 512, torch.bfloat16
    torch.manual_seed(0)
    with torch.device(device):
        model = DiTLike(**model_args).to(dtype).eval()
    img = torch.randn(1, n_img, 64, device=device, dtype=dtype)
    txt = torch.randn(1, n_txt, model_args.get("text_dim", 4096), device=device, dtype=dtype)
    vec = torch.randn(1, 256, device=device, dtype=dtype)
    JointAttention.text_tokens = n_txt
    warmup, repeats = (1, 2) if args.smoke else (3, 10)
    result = _patched_vs_unpatched(lambda: model(img, txt, vec), JointAttention, device, warmup, repeats)
    result.update(
        blocks=dict(double=model_args["double"], single=model_args["single"]), image_tokens=n_img,
        text_tokens=n_txt, dtype=str(dtype), parameters_m=sum(p.numel() for p in model.parameters()) / 1e6,
    )  # fmt: skip
    return result


# ----------------------------------------------------------------------------------------------- report
def summary_text(results: dict) -> str:
    lines = [f"PLADIS GPU suite — {results['environment'].get('device_name', '?')}", ""]
    for key, value in results["environment"].items():
        lines.append(f"  {key}: {value}")
    for section in SECTIONS:
        data = results.get(section)
        if data is None:
            continue
        lines += ["", f"== {section} ({results['seconds'].get(section, 0):.1f} s)"]
        if "error" in data:
            lines.append(f"  FAILED: {data['error']}")
            continue
        if section == "correctness":
            lines.append(f"  kernel cases within tolerance: {data['all_kernel_cases_within_tolerance']}")
            if not data["all_kernel_cases_within_tolerance"]:
                lines.append("  WARNING: the kernel is outside tolerance: the timings below are of a wrong result")
            for case in data["cases"]:
                detail = case.get("error") or case.get("skipped") or f"max rel err {case['max_rel_error']:.2e}"
                lines.append(
                    f"  {case['shape']:<20} {case['dtype']} α={case['alpha']:<4} {case.get('path', ''):<28} "
                    f"{detail} {case.get('within_tolerance', '')}"
                )
        elif section == "per_call":
            for case in data["cases"]:
                parts = []
                for method in ("sdpa", "kernel", "kernel_low_precision_pv", "eager"):
                    if method in case:
                        ms = case[method].get("median_ms")
                        ratio = case.get(f"{method}_over_sdpa")
                        parts.append(
                            f"{method} {ms:.3f} ms" + (f" ({ratio:.2f}×)" if ratio else "") if ms else f"{method} ERR"
                        )
                lines.append(f"  {case['shape']:<20} {case['dtype']}: " + ", ".join(parts))
        elif section == "tiles":
            for case in data.get("cases", []):
                timing = case.get("median_ms", case.get("error"))
                lines.append(f"  BLOCK_M {case['block_m']:>3} warps {case['num_warps']}: {timing}")
        else:
            for name in ("unpatched", "pladis"):
                entry = data.get(name, {})
                ms, peak = entry.get("median_ms", float("nan")), entry.get("peak_memory_mb")
                lines.append(f"  {name:<10} {ms:.2f} ms, peak {peak} MB, finite {entry.get('output_finite')}")
            if "pladis_over_unpatched" in data:
                lines.append(f"  PLADIS / unpatched: {data['pladis_over_unpatched']:.3f}")
            lines.append(f"  {json.dumps({k: v for k, v in data.items() if k not in ('unpatched', 'pladis')})}")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.environ.get("OUT", "gpu_results"))
    parser.add_argument("--smoke", action="store_true", help="tiny shapes, any device: checks the script runs")
    parser.add_argument("--sections", default=",".join(SECTIONS))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--budget-s", type=float, default=400.0, help="sections and cases after it are skipped")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    _deadline[0] = started + args.budget_s
    device = torch.device(args.device)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict = {"seconds": {}}
    results["environment"] = section_environment(device, args)
    functions = {
        "correctness": section_correctness,
        "per_call": section_per_call,
        "tiles": section_tiles,
        "sdxl": section_sdxl,
        "flux": section_flux,
    }
    for section in args.sections.split(","):
        if section not in functions:
            continue
        if out_of_time():
            results[section] = {"error": "skipped: time budget"}
            continue
        start = time.perf_counter()
        try:
            results[section] = functions[section](device, args)
        except Exception as error:
            results[section] = {
                "error": f"{type(error).__name__}: {error}"[:1000],
                "traceback": traceback.format_exc()[-4000:],
            }
        finally:
            if device.type == "cuda":
                torch.cuda.empty_cache()
        results["seconds"][section] = time.perf_counter() - start
        (out_dir / "results.json").write_text(json.dumps(results, indent=1, default=str))
        print(f"[gpu_suite] {section}: {results['seconds'][section]:.1f} s", flush=True)
    results["seconds"]["total"] = time.perf_counter() - started
    (out_dir / "results.json").write_text(json.dumps(results, indent=1, default=str))
    text = summary_text(results) + f"\ntotal {results['seconds']['total']:.1f} s (budget {args.budget_s:.0f} s)\n"
    (out_dir / "summary.txt").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
