"""One Flux-width joint-attention call through one of ComfyUI's CPU attention backends, inside a real ComfyUI:
the dense pass as the pack now runs it against the float32 copies it ran before, side by side in one process.

    COMFYUI_PATH=... $COMFYUI_PYTHON bench/joint_call_cpu.py [--backend sub_quad] [--heads 24] [--rounds 3]
        [--dtype bfloat16] [--unpatched]

24 heads × 128 (fewer with --heads), 512 text + 4096 image tokens, batch 1. Methods:
- pladis:      the call with PLADIS's override installed, as the node leaves it (for bf16 on CPU the dense pass
               is PyTorch's flash kernel with its log-sum-exp);
- f32 copies:  the same call with the dense pass through the backend on float32 copies (the previous release);
- unpatched:   (with --unpatched) the backend's own call: in bf16 on a CPU without native bf16 GEMMs (AVX2
               only) this takes minutes.
Median over rounds of one call each, after a warm-up; the ratio is measured under the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

PACK_DIR = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="sub_quad", choices=["basic", "split", "sub_quad", "pytorch"])
    parser.add_argument("--heads", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"])
    parser.add_argument("--unpatched", action="store_true")
    args = parser.parse_args()
    comfyui = os.environ.get("COMFYUI_PATH")
    if not comfyui:
        sys.exit("set COMFYUI_PATH to a ComfyUI checkout and run this with its Python")
    sys.argv = [sys.argv[0], "--cpu"]
    os.chdir(comfyui)
    for i, path in enumerate((comfyui, str(PACK_DIR / "bench"), str(PACK_DIR / "tests"), str(PACK_DIR))):
        sys.path.insert(i, path)

    import comfy.options

    comfy.options.enable_args_parsing()
    import torch
    from comfy.ldm.modules import attention
    from common import time_round_robin
    from pack import import_pack

    pack = import_pack()
    dit, families = pack.nodes.dit, pack.nodes.families
    joint = pack.pladis_core.joint_attention
    site = pack.nodes.layer_selection.Site("double", 0, None)
    text, image, heads = 512, 4096, args.heads

    def options():
        forward = dit.JointForward(families.BY_CLASS["Flux"], [site], families.base.text_first(text, image))
        step_range = pack.nodes.step_range.SigmaRange(1.0, 0.0, True)
        override = dit.PladisJointAttention(1.5, 2.0, step_range, frozenset({site}))
        return {"optimized_attention_override": override, dit.FORWARD_KEY: forward}

    g = torch.Generator().manual_seed(0)
    dtype = getattr(torch, args.dtype)
    q = torch.randn(1, heads, text + image, 128, generator=g) * 1.5
    k = torch.randn(1, heads, text + image, 128, generator=g)
    k[:, :, 0] *= 2.5
    v = torch.randn(1, heads, text + image, 128, generator=g)
    q, k, v = (t.to(dtype) for t in (q, k, v))
    backend = getattr(attention, f"attention_{args.backend}")

    def through_backend(qp, kp, vp, head_slice):
        return backend(qp, kp, vp, qp.shape[1], skip_reshape=True, skip_output_reshape=True)

    def f32_copies():
        out = torch.empty_like(v)
        return joint.pladis_joint_attention(
            q, k, v, slice(0, text), slice(text, text + image), 1.5, 2.0, attend=through_backend, out=out
        )

    methods = {
        "pladis": lambda: backend(q, k, v, heads, skip_reshape=True, transformer_options=options()),
        "f32 copies": f32_copies,
    }
    if args.unpatched:
        methods["unpatched"] = lambda: backend(q, k, v, heads, skip_reshape=True)
    times = time_round_robin(methods, rounds=args.rounds, calls=1)
    with torch.inference_mode():
        patched = methods["pladis"]().view(1, text + image, heads, 128).transpose(1, 2).double()
        before = f32_copies().double()
    result = {
        "backend": args.backend,
        "dtype": args.dtype,
        "heads": heads,
        "threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        **{f"{name}_s": round(t / 1e3, 3) for name, t in times.items()},
        "f32_copies_over_pladis": times["f32 copies"] / times["pladis"],
        "max_abs_difference": float((patched - before).abs().max()),
    }
    if args.unpatched:
        result["pladis_over_unpatched"] = times["pladis"] / times["unpatched"]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
