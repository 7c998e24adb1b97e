"""PLADIS on a Flux joint attention, measured side by side in one process.

    python bench/joint_attention.py [--rounds 3] [--threads 2] [--image 4096] [--text 512]

One attention call of a Flux block (B = 1, cond only; 24 heads of 128; 512 text + 4096 image tokens):
- unpatched:  PyTorch's scaled_dot_product_attention (ComfyUI's PyTorch attention backend);
- pladis/lse: the patched call with the text mass from the kernel's log-sum-exp (PyTorch attention backend);
- pladis/col: the patched call with the text mass as an extra V column (any ComfyUI backend);
- naive:      the formula on the full L×L matrices (dense softmax, entmax package on the image×text block),
              timed in the same process after the others (its ~6 GB of temporaries would disturb them);
and the ratios, plus the peak extra memory of each (measured in fresh processes).
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

from pladis_core import pladis_joint_attention  # noqa: E402
from pladis_core.joint_attention import sdpa_attend, sdpa_with_logsumexp  # noqa: E402

METHODS = ("unpatched", "pladis/lse", "pladis/col", "naive")


def make_inputs(text: int, image: int, heads: int = 24, dim_head: int = 128):
    g = torch.Generator().manual_seed(0)
    length = text + image
    q, k, v = (torch.randn(1, heads, length, dim_head, generator=g) for _ in range(3))
    return q, k, v


def naive_pladis(q, k, v, text: slice, image: slice, alpha: float, scale: float):
    logits = q @ k.transpose(-1, -2) * q.shape[-1] ** -0.5
    weights = logits.softmax(dim=-1)
    block = weights[..., image, text]
    mass = block.sum(dim=-1, keepdim=True)
    sparse_map = entmax_package.entmax15 if alpha == 1.5 else entmax_package.sparsemax
    weights[..., image, text] = block + scale * (mass * sparse_map(logits[..., image, text], dim=-1) - block)
    return weights @ v


def methods_for(q, k, v, text_tokens: int, alpha: float, include_naive: bool = True):
    text, image = slice(0, text_tokens), slice(text_tokens, q.shape[2])
    methods = {
        "unpatched": lambda: F.scaled_dot_product_attention(q, k, v),
        "pladis/lse": lambda: pladis_joint_attention(
            q, k, v, text, image, alpha, attend_with_logsumexp=sdpa_with_logsumexp(q.device)
        ),
        "pladis/col": lambda: pladis_joint_attention(q, k, v, text, image, alpha, attend=sdpa_attend()),
    }
    if include_naive:
        methods["naive"] = lambda: naive_pladis(q, k, v, text, image, alpha, 2.0)
    return methods


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--text", type=int, default=512)
    parser.add_argument("--image", type=int, default=4096)
    parser.add_argument("--alpha", type=float, default=1.5, choices=[1.5, 2.0])
    parser.add_argument("--no-naive", action="store_true", help="skip the naive reference (slow, ~8 GB)")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--measure-memory", metavar="METHOD", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    q, k, v = make_inputs(args.text, args.image)
    methods = methods_for(q, k, v, args.text, args.alpha, include_naive=not args.no_naive)
    if args.measure_memory:
        print(json.dumps({"peak": peak_extra_bytes(methods[args.measure_memory]), "output": q.numel() * 4}))
        return

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, fp32, α={args.alpha}, λ=2")
    print(f"one Flux attention call: B=1, 24 heads x 128, {args.text} text + {args.image} image tokens")
    print(f"median of {args.rounds} rounds of one call each (ms); ratios measured side by side")
    # The naive reference allocates ~6 GB; it is timed after the others so that its page churn cannot slow them.
    naive = methods.pop("naive", None)
    t = time_round_robin(methods, args.rounds, calls=1)
    if naive is not None:
        t.update(time_round_robin({"naive": naive}, 1, calls=1))
        methods["naive"] = naive
    for name, ms in t.items():
        print(f"  {name:11} {ms:10.1f} ms   {ms / t['unpatched']:6.2f}x unpatched")
    if "naive" in t:
        for name in ("pladis/lse", "pladis/col"):
            print(f"  naive / {name} = {t['naive'] / t[name]:.2f}")
    if args.no_memory:
        return
    print("peak extra memory during one call (MiB; output tensor included)")
    for name in methods:
        extra = ["--text", str(args.text), "--image", str(args.image), "--alpha", str(args.alpha)]
        if args.threads:
            extra += ["--threads", str(args.threads)]
        m = measure_memory_in_subprocess(__file__, [name, *extra])
        print(f"  {name:11} {m['peak'] / 2**20:10.1f} MiB   (output {m['output'] / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
