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

This file is the command line and the report; the parts: gpu_suite_cases.py (shapes, inputs, the methods
per case), gpu_suite_correctness.py, gpu_suite_timing.py (the timed sections), gpu_suite_models.py.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gpu_suite_cases import _deadline, out_of_time  # noqa: E402
from gpu_suite_correctness import section_correctness  # noqa: E402
from gpu_suite_timing import section_flux, section_per_call, section_sdxl, section_tiles  # noqa: E402

from pladis_core import dispatch  # noqa: E402

# Correctness before anything is timed; then the most useful first: the later sections are skipped when the
# time budget (--budget-s) runs out.
SECTIONS = ("correctness", "per_call", "sdxl", "flux", "tiles")


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
