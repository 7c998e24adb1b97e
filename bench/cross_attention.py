"""PLADIS cross-attention cost at SDXL and SD1.5 shapes, measured side by side in one process.

    python bench/cross_attention.py [--rounds 7] [--threads 2] [--alpha 1.5] [--dtype float32]

Per call of one attn2 layer (B = 2: a CFG batch), it prints:
- pladis:   what the node's attn2 replacement runs (pladis_core.pladis_attention);
- sdpa:     the unpatched cross-attention with ComfyUI's PyTorch attention backend (scaled_dot_product_attention,
            the default wherever PyTorch attention is enabled);
- math:     bmm-softmax-bmm attention (ComfyUI's attention_basic);
- naive:    a reference PLADIS as public implementations write it: dense attention plus attention with the
            entmax package's sort-based map on the full score matrix, blended;
- sort:     (with --with-sort) pladis with the solver accelerators and torch.compile use (sync-free), on CPU;
and the ratios, plus the peak extra memory of each (measured in fresh processes).
Inputs: q ~ N(0, 1.6²), k, v ~ N(0, 1) with one BOS-like key scaled ×3 (peaked rows like SD's).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import entmax as entmax_package
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import measure_memory_in_subprocess, peak_extra_bytes, time_round_robin  # noqa: E402

from pladis_core import alpha_entmax, dense_attention, pladis_attention  # noqa: E402

SHAPES = {
    # name: (query tokens, heads, head dim); context 77 tokens, batch 2
    "SDXL 64x64 (1024px)": (4096, 10, 64),
    "SDXL 32x32 (1024px)": (1024, 20, 64),
    "SD1.5 64x64 (512px)": (4096, 8, 40),
    "SD1.5 32x32 (512px)": (1024, 8, 80),
    "SD1.5 16x16 (512px)": (256, 8, 160),
}
METHODS = ("pladis", "sdpa", "math", "naive")


def make_inputs(n_query: int, heads: int, dim_head: int, dtype: torch.dtype, batch: int = 2, n_key: int = 77):
    g = torch.Generator().manual_seed(0)
    inner = heads * dim_head
    q = torch.randn(batch, n_query, inner, generator=g) * 1.6
    k = torch.randn(batch, n_key, inner, generator=g)
    k[:, 0] *= 3.0
    v = torch.randn(batch, n_key, inner, generator=g)
    return q.to(dtype), k.to(dtype), v.to(dtype)


def split_heads(t: torch.Tensor, heads: int) -> torch.Tensor:
    b, n, c = t.shape
    return t.view(b, n, heads, c // heads).transpose(1, 2)


def math_attention(q, k, v, heads):
    qh, kh, vh = (split_heads(t, heads) for t in (q, k, v))
    weights = torch.softmax(qh @ kh.transpose(-1, -2) * qh.shape[-1] ** -0.5, dim=-1)
    return (weights @ vh).transpose(1, 2).reshape(q.shape[0], q.shape[1], -1)


def naive_pladis(q, k, v, heads, alpha, scale):
    qh, kh, vh = (split_heads(t, heads) for t in (q, k, v))
    dense = F.scaled_dot_product_attention(qh, kh, vh)
    scores = qh @ kh.transpose(-1, -2) * qh.shape[-1] ** -0.5
    sparse_map = entmax_package.entmax15 if alpha == 1.5 else entmax_package.sparsemax
    sparse = sparse_map(scores, dim=-1) @ vh
    out = dense + scale * (sparse - dense)
    return out.transpose(1, 2).reshape(q.shape[0], q.shape[1], -1)


def with_solver(solver, call):
    """``call`` with the exact solver forced to ``solver`` (the device's choice is swapped for the call)."""

    def run():
        chosen = alpha_entmax.exact_solver
        alpha_entmax.exact_solver = lambda device: solver
        try:
            return call()
        finally:
            alpha_entmax.exact_solver = chosen

    return run


def methods_for(q, k, v, heads, alpha, scale, with_sort=False):
    methods = {
        "pladis": lambda: pladis_attention(q, k, v, heads, alpha, scale),
        "sdpa": lambda: dense_attention(q, k, v, heads),
        "math": lambda: math_attention(q, k, v, heads),
        "naive": lambda: naive_pladis(q, k, v, heads, alpha, scale),
    }
    if with_sort:
        methods["sort"] = with_solver("sort", methods["pladis"])
    return methods


def measure_memory(shape_name: str, method: str, alpha: float, dtype: str) -> None:
    n_query, heads, dim_head = SHAPES[shape_name]
    q, k, v = make_inputs(n_query, heads, dim_head, getattr(torch, dtype))
    fn = methods_for(q, k, v, heads, alpha, 2.0)[method]
    output_bytes = q.numel() * q.element_size()
    print(json.dumps({"peak": peak_extra_bytes(fn), "output": output_bytes}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--alpha", type=float, default=1.5, choices=[1.5, 2.0])
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--shapes", nargs="*", default=list(SHAPES))
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--with-sort", action="store_true", help="also time the accelerators' sync-free solver")
    parser.add_argument("--measure-memory", nargs=2, metavar=("SHAPE", "METHOD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.measure_memory:
        measure_memory(*args.measure_memory, args.alpha, args.dtype)
        return

    dtype = getattr(torch, args.dtype)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.dtype}, α={args.alpha}, λ=2")
    print(f"per call, median of {args.rounds} rounds of best-of-3 (ms); ratios measured side by side")
    timed = METHODS + (("sort",) if args.with_sort else ())
    ratios = ("pl/sdpa", "pl/math", "naive/pl") + (("sort/pl",) if args.with_sort else ())
    print(f"{'shape':22} " + " ".join([f"{m:>8}" for m in timed] + [f"{r:>8}" for r in ratios]))
    for name in args.shapes:
        n_query, heads, dim_head = SHAPES[name]
        q, k, v = make_inputs(n_query, heads, dim_head, dtype)
        t = time_round_robin(methods_for(q, k, v, heads, args.alpha, 2.0, args.with_sort), args.rounds)
        figures = [t["pladis"] / t["sdpa"], t["pladis"] / t["math"], t["naive"] / t["pladis"]]
        if args.with_sort:
            figures.append(t["sort"] / t["pladis"])
        print(f"{name:22} " + " ".join(f"{t[m]:8.2f}" for m in timed) + " " + " ".join(f"{r:8.2f}" for r in figures))
    if args.no_memory:
        return
    print("\npeak extra memory during one call (MiB; output tensor included, its size in brackets)")
    for name in args.shapes:
        cells = []
        for method in METHODS:
            extra = ["--alpha", str(args.alpha), "--dtype", args.dtype]
            if args.threads:
                extra += ["--threads", str(args.threads)]
            m = measure_memory_in_subprocess(__file__, [name, method, *extra])
            cells.append(f"{method} {m['peak'] / 2**20:7.1f}")
        print(f"{name:22} " + "  ".join(cells) + f"  [{m['output'] / 2**20:.1f}]")


if __name__ == "__main__":
    main()
