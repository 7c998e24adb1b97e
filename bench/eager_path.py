"""The eager accelerator path against the sort-based solve it replaces, timed on CPU side by side in one process.

    python bench/eager_path.py [--rounds 5] [--threads 2] [--alpha 1.5]

Per engine call (``pladis_attention_heads``, fp32, λ = 2), at SDXL attn2 shapes (CFG batch 2, 77 keys) and the
Flux image × text block (batch 1, 24 heads, 512 text keys; 1,024 of the 4,096 image rows, to keep it short):
- new:    ``accelerator_path`` (what accelerators and torch.compile run now);
- sort:   the engine as accelerators ran it before: chunks of 2^24 scores, ``alpha_entmax``'s sort-based solve;
- cpu:    the CPU path (Newton steps with a host check), what a CPU user gets;
- sdpa:   PyTorch's attention on the same q, k, v, for scale.
Ratios: sort/new (how much faster the new path is) and new/cpu. Inputs as in bench/cross_attention.py
(peaked rows like SD's). CPU timings say little about a GPU, where launches and memory passes dominate:
tests/unit/test_eager_ops.py counts those.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import time_round_robin  # noqa: E402

from pladis_core.accelerator_path import accelerator_attention_heads  # noqa: E402
from pladis_core.eager import ACCELERATOR_CHUNK_SCORES, chunked_attention_heads  # noqa: E402
from pladis_core.options import EngineOptions  # noqa: E402

SHAPES = {
    # name: (batch, heads, query rows, keys, head dim)
    "SDXL 64x64 attn2": (2, 10, 4096, 77, 64),
    "SDXL 32x32 attn2": (2, 20, 1024, 77, 64),
    "Flux img x txt (1/4)": (1, 24, 1024, 512, 128),
}


def make_inputs(batch, heads, n_query, n_key, dim):
    g = torch.Generator().manual_seed(0)
    q = torch.randn(batch, heads, n_query, dim, generator=g) * 1.6
    k = torch.randn(batch, heads, n_key, dim, generator=g)
    k[:, :, 0] *= 3.0
    v = torch.randn(batch, heads, n_key, dim, generator=g)
    return q, k, v


def methods_for(q, k, v, alpha):
    out = torch.empty(*q.shape[:3], v.shape[-1])
    options = EngineOptions()
    before = EngineOptions(chunk_scores=ACCELERATOR_CHUNK_SCORES)
    return {
        "new": lambda: accelerator_attention_heads(q, k, v, alpha, 2.0, out, options),
        "sort": lambda: chunked_attention_heads(q, k, v, alpha, 2.0, out, before, "sort"),
        "cpu": lambda: chunked_attention_heads(q, k, v, alpha, 2.0, out, options, "refine"),
        "sdpa": lambda: F.scaled_dot_product_attention(q, k, v),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--alpha", type=float, default=1.5, choices=[1.5, 2.0])
    parser.add_argument("--shapes", nargs="*", default=list(SHAPES))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, fp32, α={args.alpha}, λ=2")
    print(f"per call, median of {args.rounds} rounds of best-of-3 (ms); ratios measured side by side")
    names = ("new", "sort", "cpu", "sdpa")
    print(f"{'shape':22} " + " ".join(f"{m:>8}" for m in names) + f" {'sort/new':>9} {'new/cpu':>8} {'new/sdpa':>8}")
    for name in args.shapes:
        q, k, v = make_inputs(*SHAPES[name])
        t = time_round_robin(methods_for(q, k, v, args.alpha), args.rounds)
        ratios = (t["sort"] / t["new"], t["new"] / t["cpu"], t["new"] / t["sdpa"])
        print(f"{name:22} " + " ".join(f"{t[m]:8.1f}" for m in names) + " {:9.2f} {:8.2f} {:8.2f}".format(*ratios))


if __name__ == "__main__":
    main()
