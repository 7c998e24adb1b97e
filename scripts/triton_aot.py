"""Compile the fused PLADIS kernel ahead of time for NVIDIA GPUs, without a GPU, and report registers and spills.

    python scripts/triton_aot.py [--arch 80,86,89,90] [--dtype fp16,bf16,fp32] [--keys 16,...,1024]
                                 [--head-dim 64] [--variants] [--only 86:fp16:77,...] [--json FILE]

Each configuration is what ``pladis_attention_heads_fused`` launches for those operands: the call runs on
CPU tensors with a stand-in driver that reports the target GPU, and the kernel is compiled (``warmup``), not
launched, so the tile, warps and specialisation are the dispatch's own. Registers and spills come from
ptxas's ``-v`` report (the Triton wheel's own ptxas). Prints one line per configuration; the exit status is 1
if any configuration fails to compile, 2 if the toolchain is missing. Sets TRITON_INTERPRET=0 for itself.
Runs on Triton 3.2 to 3.9 (the stand-in driver answers what each version's JIT asks).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

os.environ["TRITON_INTERPRET"] = "0"
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ARCHS = (80, 86, 89, 90)
DTYPES = ("fp16", "bf16", "fp32")
# One key count per row tile the dispatch picks (BLOCK_N = next power of two ≥ 16).
KEYS = (16, 32, 64, 128, 256, 512, 1024)
HEAD_DIMS = (64,)
# Options that change the compiled code, tried at SDXL's and Flux's tiles: (name, call keywords, alpha).
VARIANTS = {
    "alpha=1.5": ({}, 1.5),
    "alpha=2": ({}, 2.0),
    "alpha=1.75": ({}, 1.75),
    "mask": ({"bias": True}, 1.5),
    "joint": ({"total_logsumexp": True, "accumulate": True, "include_dense": False}, 1.5),
    "flux_joint_d128": ({"total_logsumexp": True, "accumulate": True, "include_dense": False}, 1.5),
    "row_scale": ({"row_scale": True, "accumulate": True, "include_dense": False}, 1.5),
}


def toolchain_missing() -> str | None:
    """Why the ahead-of-time compile cannot run here, or None."""
    try:
        import triton
        from triton.backends import backends
    except Exception as error:  # no triton, or one too broken to import
        return f"triton does not import ({type(error).__name__})"
    if "nvidia" not in backends:
        return f"Triton {triton.__version__} has no CUDA backend"
    from triton.backends.nvidia import compiler as nvidia

    if not (Path(nvidia.__file__).parent / "bin" / "ptxas").exists() and not os.environ.get("TRITON_PTXAS_PATH"):
        return "no ptxas next to Triton's CUDA backend"
    return None


class _TargetOnlyDriver:
    """What Triton's JIT asks of a driver before it launches: the device, a stream and the target GPU."""

    def __init__(self, capability: int) -> None:
        from triton.backends.compiler import GPUTarget

        self.target = GPUTarget("cuda", capability, 32)
        self.capability = capability

    def get_current_device(self) -> int:
        return self.capability  # one JIT cache per target

    def get_current_stream(self, device=None) -> int:
        return 0

    def get_current_target(self):
        return self.target

    def get_active_torch_device(self):
        import torch

        return torch.device("cpu")

    def get_device_interface(self):
        import torch

        return torch.cuda

    def __getattr__(self, name):
        raise AttributeError(f"the ahead-of-time driver has no {name}")


_PTXAS_INFO = re.compile(r"Used (\d+) registers")
_SPILLS = re.compile(r"(\d+) bytes spill stores, (\d+) bytes spill loads")
_STACK = re.compile(r"(\d+) bytes stack frame")


@contextlib.contextmanager
def _ptxas_reports(reports: list[str]):
    """Keeps ptxas's -v report, which Triton writes to a log file and deletes."""
    from triton.backends.nvidia import compiler as nvidia

    run = nvidia.subprocess.run

    def run_and_keep(command, *args, **kwargs):
        result = run(command, *args, **kwargs)
        log = kwargs.get("stderr")
        if "ptxas" in os.path.basename(str(command[0])) and hasattr(log, "name"):
            with open(log.name) as handle:
                reports.append(handle.read())
        return result

    nvidia.subprocess.run = run_and_keep
    try:
        yield
    finally:
        nvidia.subprocess.run = run


def _parse_ptxas(report: str) -> dict:
    registers = _PTXAS_INFO.findall(report)
    spills = _SPILLS.findall(report)
    stack = _STACK.findall(report)
    return {
        "registers": int(registers[-1]) if registers else None,
        "spill_stores": int(spills[-1][0]) if spills else None,
        "spill_loads": int(spills[-1][1]) if spills else None,
        "stack_frame": int(stack[-1]) if stack else None,
    }


@contextlib.contextmanager
def _compile_only(module, launches: list):
    """``module._pladis_kernel[grid](...)`` compiles (warmup) and records the launch instead of running it."""
    kernel = module._pladis_kernel

    class CompileOnly:
        def __getitem__(self, grid):
            def warmup(*args, **kwargs):
                launches.append({"grid": grid, "kwargs": kwargs})  # the tile, even if the compile fails
                launches[-1]["compiled"] = kernel.warmup(*args, grid=grid, **kwargs)

            return warmup

    module._pladis_kernel = CompileOnly()
    try:
        yield
    finally:
        module._pladis_kernel = kernel


def compile_configuration(arch: int, dtype: str, n_key: int, head_dim: int, variant: str = "alpha=1.5") -> dict:
    """Compiles the launch the dispatch makes for these operands on sm_<arch>; what ptxas reported."""
    import torch
    import triton

    from pladis_core import triton_pladis

    torch_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[dtype]
    options, alpha = VARIANTS[variant]
    batch, heads, n_query = 1, 2, 64
    q = torch.zeros(batch, heads, n_query, head_dim, dtype=torch_dtype)
    k = torch.zeros(batch, heads, n_key, head_dim, dtype=torch_dtype)
    out = torch.zeros_like(q)
    call = {key: options[key] for key in ("accumulate", "include_dense") if key in options}
    if options.get("bias"):
        call["bias"] = torch.zeros(batch, 1, n_query, n_key)
    if options.get("total_logsumexp"):
        call["total_logsumexp"] = torch.zeros(batch, heads, n_query)
    if options.get("row_scale"):
        call["row_scale"] = torch.ones(batch, heads, n_query, 1)
    row = {"triton": triton.__version__, "arch": f"sm_{arch}", "dtype": dtype, "keys": n_key, "head_dim": head_dim}
    row["variant"] = variant
    launches, reports = [], []
    started = time.perf_counter()
    try:
        # Left active afterwards: there is no GPU driver to go back to (this process only compiles).
        triton.runtime.driver.set_active(_TargetOnlyDriver(arch))
        with _compile_only(triton_pladis, launches), _ptxas_reports(reports):
            triton_pladis.pladis_attention_heads_fused(q, k, k, alpha, 2.0, out=out, **call)
        row["ok"] = True
    except Exception as error:
        row["ok"] = False
        row["error"] = f"{type(error).__name__}: {' '.join(str(error).split())[:400]}"
    row["seconds"] = round(time.perf_counter() - started, 2)
    if launches:
        kwargs = launches[0]["kwargs"]
        row.update(block_m=kwargs["BLOCK_M"], block_n=kwargs["BLOCK_N"], num_warps=kwargs["num_warps"])
    if reports:
        row.update(_parse_ptxas(reports[-1]))
    return row


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def configurations(args) -> list[tuple]:
    if args.only:
        rows = []
        for arch, dtype, keys, *variant in args.only:
            variant = variant[0] if variant else "alpha=1.5"
            rows.append((int(arch), dtype, int(keys), 128 if variant.endswith("d128") else args.head_dim[0], variant))
        return rows
    rows = [
        (arch, dtype, n_key, head_dim, "alpha=1.5")
        for arch in args.arch
        for head_dim in args.head_dim
        for dtype in args.dtype
        for n_key in args.keys
    ]
    if args.variants:
        for arch in args.arch:
            for variant in VARIANTS:
                head_dim = 128 if variant.endswith("d128") else 64
                if variant != "alpha=1.5":
                    rows += [(arch, dtype, n_key, head_dim, variant) for dtype in args.dtype for n_key in (77, 512)]
    return rows


def describe(row: dict) -> str:
    tile = f"{row.get('block_m', '?')}x{row.get('block_n', '?')}/{row.get('num_warps', '?')}w"
    head = f"Triton {row['triton']} {row['arch']} {row['dtype']} keys={row['keys']} d={row['head_dim']}"
    head += f" {row['variant']}"
    if not row["ok"]:
        return f"{head} tile {tile}: FAILED {row['error']}"
    return (
        f"{head} tile {tile}: {row['registers']} registers, {row['spill_stores']} B spill stores, "
        f"{row['spill_loads']} B spill loads ({row['seconds']} s)"
    )


def markdown_table(rows: list[dict]) -> str:
    """Registers and spills, one line per configuration (the tables of docs/gpu.md)."""
    lines = [
        "| Triton | arch | dtype | keys | tile (rows × keys / warps) | registers | spill stores / loads (B) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        tile = f"{row.get('block_m', '?')}×{row.get('block_n', '?')} / {row.get('num_warps', '?')}"
        result = (
            f"{row['registers']} | {row['spill_stores']} / {row['spill_loads']}"
            if row["ok"]
            else f"FAILED | {row['error'][:80]}"
        )
        notes = [f"d={row['head_dim']}"] if row.get("head_dim", 64) != 64 else []
        notes += [row["variant"]] if row.get("variant", "alpha=1.5") != "alpha=1.5" else []
        keys = f"{row['keys']} ({', '.join(notes)})" if notes else row["keys"]
        lines.append(f"| {row['triton']} | {row['arch']} | {row['dtype']} | {keys} | {tile} | {result} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", type=_ints, default=ARCHS, help="compute capabilities, e.g. 80,86,89,90")
    parser.add_argument("--dtype", type=_names, default=DTYPES, help="fp16,bf16,fp32")
    parser.add_argument("--keys", type=_ints, default=KEYS, help="key counts (one per row tile)")
    parser.add_argument("--head-dim", type=_ints, default=HEAD_DIMS, help="head sizes")
    parser.add_argument("--only", type=lambda text: [item.split(":") for item in text.split(",")],
                        help="just these, e.g. 86:fp16:77,90:bf16:512:joint (arch:dtype:keys[:variant])")  # fmt: skip
    parser.add_argument("--variants", action="store_true", help="also masks, joint attention, other alphas")
    parser.add_argument("--block-m", type=int, help="override the dispatch's query tile (BLOCK_M_OVERRIDE)")
    parser.add_argument("--num-warps", type=int, help="override the dispatch's warps (NUM_WARPS_OVERRIDE)")
    parser.add_argument("--json", type=Path, help="write the rows as JSON here")
    parser.add_argument("--table", type=Path, nargs="+", help="print the rows of these JSON files as Markdown")
    args = parser.parse_args(argv)
    if args.table:
        print(markdown_table([row for path in args.table for row in json.loads(path.read_text())]))
        return 0
    missing = toolchain_missing()
    if missing:
        print(f"toolchain missing: {missing}")
        return 2
    from pladis_core import triton_pladis

    triton_pladis.BLOCK_M_OVERRIDE, triton_pladis.NUM_WARPS_OVERRIDE = args.block_m, args.num_warps
    with tempfile.TemporaryDirectory() as cache:  # a warm cache would skip ptxas and its report
        os.environ["TRITON_CACHE_DIR"] = cache
        rows = []
        for configuration in configurations(args):
            rows.append(compile_configuration(*configuration))
            print(describe(rows[-1]), flush=True)
            if args.json:  # as it goes: a long run stopped early keeps what it compiled
                args.json.write_text(json.dumps(rows, indent=1))
    failed = [row for row in rows if not row["ok"]]
    print(f"{len(rows) - len(failed)} compiled, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
