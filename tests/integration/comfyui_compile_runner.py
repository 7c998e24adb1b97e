"""Runs inside a real ComfyUI (its interpreter, its root as working directory) and prints one JSON line.

    python comfyui_compile_runner.py PACK_DIR {sdxl,flux} {default,pytorch}

PLADIS Model Patch followed by ComfyUI's own TorchCompileModel node (inductor) on the tiny SDXL-structured
UNet of comfyui_unet_runner.py and the tiny Flux of comfyui_dit_runner.py (imported, not copied), sampled with
ComfyUI's sampler, against the same patched model run eagerly; once over the whole schedule and once with a
step range. Every graph break dynamo reports is recorded with the file and line it happened at.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys

PACK_DIR, MODEL, BACKEND = sys.argv[1], sys.argv[2], sys.argv[3]
# ComfyUI reads its command line once, when comfy.cli_args is first imported: parse ours before the base
# runner replaces sys.argv with its own.
sys.argv = [sys.argv[0], "--cpu"] + (["--use-pytorch-cross-attention"] if BACKEND == "pytorch" else [])
sys.path.insert(0, os.getcwd())

import comfy.options  # noqa: E402

comfy.options.enable_args_parsing()

import comfy.cli_args  # noqa: E402, F401

sys.argv = [sys.argv[0], PACK_DIR, "sdxl" if MODEL == "sdxl" else "flux"]
if MODEL == "sdxl":
    import comfyui_unet_runner as base  # noqa: E402
else:
    import comfyui_dit_runner as base  # noqa: E402

import torch  # noqa: E402
import torch._dynamo  # noqa: E402
from comfy.ldm.modules import attention  # noqa: E402
from comfy_extras.nodes_torch_compile import TorchCompileModel  # noqa: E402

import nodes  # noqa: E402

PACK_ROOT = os.path.realpath(PACK_DIR)
BREAK_AT = re.compile(r"Graph break in user code at (.+?):(\d+)")
# A step range that holds the second of the two sampling steps (SDXL: sigma 0.03, Flux: 0.5), not the first.
RANGE = {"sdxl": (0.3, 1.0), "flux": (0.3, 0.9)}[MODEL]


class BreakLog(logging.Handler):
    """Collects the (file, line) of each graph break from dynamo's graph_breaks log artifact."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.sites: list[tuple[str, int]] = []

    def emit(self, record: logging.LogRecord) -> None:
        for path, line in BREAK_AT.findall(record.getMessage()):
            self.sites.append((path, int(line)))


def in_pack(path: str) -> bool:
    return os.path.realpath(path).startswith(PACK_ROOT + os.sep)


def sample(model):
    if MODEL == "sdxl":
        return base.sample(model)
    return base.sample(model, cfg=2.0, steps=2)


def build():
    if MODEL == "sdxl":
        return base.build_model()[0]
    return base.build_model()


def compiled(model):
    return TorchCompileModel.execute(model=model, backend="inductor").result[0]


def compare(patched, breaks: BreakLog, name: str, report: dict) -> None:
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    breaks.sites.clear()
    eager = sample(patched)
    result = sample(compiled(patched))
    scale = float(eager.abs().max())
    report[f"{name}_finite"] = bool(torch.isfinite(result).all())
    report[f"{name}_relative_error"] = float((result - eager).abs().max()) / max(scale, 1e-12)
    report[f"{name}_graph_breaks"] = sum(torch._dynamo.utils.counters["graph_break"].values())
    pack = sorted({f"{os.path.relpath(p, PACK_ROOT)}:{line}" for p, line in breaks.sites if in_pack(p)})
    report[f"{name}_pack_breaks"] = pack
    report[f"{name}_pack_break_count"] = sum(in_pack(p) for p, _ in breaks.sites)
    report[f"{name}_all_break_sites"] = sorted({f"{p}:{line}" for p, line in breaks.sites})[:20]
    report[f"{name}_eager"] = eager


def main():
    report = {"model": MODEL, "backend": attention.optimized_attention.__name__, "torch": torch.__version__}
    import asyncio

    report["loaded"] = asyncio.run(nodes.load_custom_node(PACK_DIR))
    torch._logging.set_logs(graph_breaks=True)
    breaks = BreakLog()
    logging.getLogger("torch._dynamo").addHandler(breaks)
    # A tiny model compiled many times: leave room for dynamo's per-function recompilations.
    torch._dynamo.config.cache_size_limit = 64

    model = build()
    base_out = sample(model)
    patched = base.pladis(model)[0]
    compare(patched, breaks, "full", report)
    start, end = RANGE
    ranged = base.pladis(model, start_percent=start, end_percent=end)[0]
    compare(ranged, breaks, "range", report)

    full, ranged_eager = report.pop("full_eager"), report.pop("range_eager")
    report["range_differs_from_unpatched"] = not torch.equal(ranged_eager, base_out)
    report["range_differs_from_full"] = not torch.equal(ranged_eager, full)
    report["full_differs_from_unpatched"] = not torch.equal(full, base_out)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
