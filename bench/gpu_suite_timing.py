"""The GPU suite's timing: measurement helpers and the per_call, tiles, sdxl and flux sections."""

from __future__ import annotations

import statistics
import time

import torch
from gpu_suite_cases import (
    DTYPES,
    cross_inputs,
    cross_methods,
    engine,
    flux_shape,
    joint_inputs,
    joint_methods,
    out_of_time,
    shapes,
)
from gpu_suite_models import DiTLike, JointAttention, PatchableCrossAttention, UNetLike

from pladis_core import dispatch


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
