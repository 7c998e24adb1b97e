"""Whole sampling step of a Flux-width DiT, PLADIS vs unpatched, inside a real ComfyUI.

    COMFYUI_PATH=... $COMFYUI_PYTHON bench/flux_step.py [--rounds 3] [--dtype bfloat16] [--size 1024]
        [--double 2] [--single 4] [--backend quad|pytorch|split]

The model is ComfyUI's own Flux class at Flux's real width (hidden 3072, 24 heads × 128, T5 context of 512
tokens) with fewer blocks than the real 19 + 38, random weights, in the given dtype. One step is one
``comfy.sample.sample`` call with a single Euler step at CFG 1 (one model evaluation), so the figure includes
everything a step runs: the model, the PLADIS layout wrapper and override, the sampler. Methods are timed
round-robin (median over rounds of one call each, after a warm-up call), so the ratio is measured under the same load.
The patched share of a real Flux step is the same per block as here, since every block is patched by default.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

PACK_DIR = Path(__file__).resolve().parents[1]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"])
    parser.add_argument("--size", type=int, default=1024, help="image side in pixels (latent /8, patch 2)")
    parser.add_argument("--text", type=int, default=512, help="text tokens")
    parser.add_argument("--double", type=int, default=2)
    parser.add_argument("--single", type=int, default=4)
    parser.add_argument("--backend", default="quad", choices=["quad", "pytorch", "split"])
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    comfyui = os.environ.get("COMFYUI_PATH")
    if not comfyui:
        sys.exit("set COMFYUI_PATH to a ComfyUI checkout and run this with its Python")
    flag = {"pytorch": "--use-pytorch-cross-attention", "split": "--use-split-cross-attention", "quad": None}
    sys.argv = [sys.argv[0], "--cpu"] + ([flag[args.backend]] if flag[args.backend] else [])
    os.chdir(comfyui)
    sys.path.insert(0, comfyui)
    sys.path.insert(1, str(PACK_DIR / "bench"))

    import comfy.options

    comfy.options.enable_args_parsing()
    import comfy.model_base
    import comfy.model_patcher
    import comfy.sample
    import comfy.supported_models
    import torch
    from common import time_round_robin

    import nodes

    asyncio.run(nodes.load_custom_node(str(PACK_DIR)))
    dtype = getattr(torch, args.dtype)
    cpu = torch.device("cpu")
    config = {
        "image_model": "flux",
        "in_channels": 16,
        "out_channels": 16,
        "vec_in_dim": 768,
        "context_in_dim": 4096,
        "hidden_size": 3072,
        "mlp_ratio": 4.0,
        "num_heads": 24,
        "depth": args.double,
        "depth_single_blocks": args.single,
        "axes_dim": [16, 56, 56],
        "theta": 10000,
        "patch_size": 2,
        "qkv_bias": True,
        "guidance_embed": True,
    }
    import dataclasses

    import comfy.ldm.flux.model

    if "txt_ids_dims" in {f.name for f in dataclasses.fields(comfy.ldm.flux.model.FluxParams)}:
        config["txt_ids_dims"] = []  # v0.33; v0.3.64 has no such field
    model_config = comfy.supported_models.Flux(config)
    model_config.set_inference_dtype(dtype, None)
    model = comfy.model_base.Flux(model_config, device=cpu)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.02)
    base = comfy.model_patcher.ModelPatcher(model, cpu, cpu)
    node = nodes.NODE_CLASS_MAPPINGS["PLADISModelPatch"]
    inputs = dict(alpha=1.5, scale=2.0, start_percent=0.0, end_percent=1.0, layers="default", custom_layers="")
    output = node.execute(model=base, **inputs)
    patched, report = output.result[0], output.ui["pladis"][0]

    side = args.size // 8
    latent = torch.zeros(1, 16, side, side)
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(latent.shape, generator=g)
    cond = [[torch.randn(1, args.text, 4096, generator=g), {"pooled_output": torch.randn(1, 768, generator=g)}]]
    cond[0][1]["guidance"] = 3.5

    def step(m):
        return lambda: comfy.sample.sample(
            m, noise, 1, 1.0, "euler", "simple", cond, cond, latent, disable_pbar=True, seed=0
        )

    times = time_round_robin({"unpatched": step(base), "pladis": step(patched)}, rounds=args.rounds, calls=1)
    result = {
        "dtype": args.dtype,
        "backend": args.backend,
        "image_tokens": (side // 2) ** 2,
        "text_tokens": args.text,
        "blocks": f"{args.double} double + {args.single} single",
        "unpatched_s": times["unpatched"] / 1e3,
        "pladis_s": times["pladis"] / 1e3,
        "ratio": times["pladis"] / times["unpatched"],
        "report": report["summary"],
        "threads": torch.get_num_threads(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
