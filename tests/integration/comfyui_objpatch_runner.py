"""Runs inside a real ComfyUI (its interpreter, its root as working directory) and prints one JSON line.

    python comfyui_objpatch_runner.py PACK_DIR KIND      KIND: pixart | hunyuan_dit | ernie_image

A tiny model of a family whose attention ComfyUI calls without transformer_options, built from ComfyUI's own
classes with random weights (fp32, CPU); the pack is loaded by ComfyUI's loader, sampling is ComfyUI's. Each
attention PLADIS computes is recorded (its q, k, v as the twin computed them, and its output) and compared with
the float64 formula over the text keys this runner expects for the family (written here, independently of the
pack). ``{"absent": true}`` when this ComfyUI has no such family.
"""

from __future__ import annotations

import dataclasses
import json
import sys

import harness

PACK_DIR, KIND = sys.argv[1], sys.argv[2]
harness.start(PACK_DIR)

import comfy.model_base  # noqa: E402
import comfy.model_patcher  # noqa: E402
import comfy.sample  # noqa: E402
import comfy.supported_models  # noqa: E402
import torch  # noqa: E402
from harness import finite, gen, pladis, tiny_model  # noqa: E402
from oracles import joint_reference  # noqa: E402

import nodes  # noqa: E402, F401  (ComfyUI's)


@dataclasses.dataclass
class Case:
    config: object
    model_class: object
    latent: torch.Tensor
    positive: list
    negative: list
    blocks: str
    module: str
    text_keys: object  # (cond index, q length, k length) -> (B=1 bool key mask of text keys, query rows that change)


def pixart_case():
    if not hasattr(comfy.model_base, "PixArt"):
        return None
    config = comfy.supported_models.PixArtAlpha(
        {
            "image_model": "pixart_alpha",
            "patch_size": 4,
            "in_channels": 4,
            "hidden_size": 64,
            "depth": 2,
            "num_heads": 4,
            "caption_channels": 48,
            "model_max_length": 6,
            "micro_condition": False,
            "pred_sigma": True,
            "learn_sigma": True,
        }
    )

    def cond(seed):
        return [[torch.randn(1, 6, 48, generator=gen(seed)), {}]]

    def text_keys(c, n_query, n_key):
        return torch.ones(n_key, dtype=torch.bool), slice(0, n_query)

    # PixArt sizes its position embedding from the latent: under 48×48 the base size rounds to 0.
    latent = torch.zeros(1, 4, 48, 48)
    return Case(config, comfy.model_base.PixArt, latent, cond(1), cond(2), "blocks", "cross_attn", text_keys)


CLIP_LEN, MT5_LEN = 7, 9
MASKS = {  # cond index -> (CLIP mask, mT5 mask): the positive prompt pads both, the negative only mT5
    0: ([1] * 5 + [0] * 2, [1] * 6 + [0] * 3),
    1: ([1] * CLIP_LEN, [1] * 3 + [0] * 6),
}


def hunyuan_dit_case():
    if not hasattr(comfy.model_base, "HunyuanDiT"):
        return None
    config = comfy.supported_models.HunyuanDiT(
        {
            "image_model": "hydit",
            "input_size": 8,
            "patch_size": 2,
            "in_channels": 4,
            "hidden_size": 64,
            "depth": 4,
            "num_heads": 4,
            "text_states_dim": 32,
            "text_states_dim_t5": 32,
            "text_len": CLIP_LEN,
            "text_len_t5": MT5_LEN,
            "size_cond": False,
            "use_style_cond": False,
        }
    )

    def cond(seed, index):
        g = gen(seed)
        clip, mt5 = MASKS[index]
        return [
            [
                torch.randn(1, CLIP_LEN, 32, generator=g),
                {
                    "attention_mask": torch.tensor([clip]),
                    "conditioning_mt5xl": torch.randn(1, MT5_LEN, 32, generator=g),
                    "attention_mask_mt5xl": torch.tensor([mt5]),
                },
            ]
        ]

    def text_keys(c, n_query, n_key):
        clip, mt5 = MASKS[c]
        return torch.tensor(clip + mt5, dtype=torch.bool), slice(0, n_query)

    latent = torch.zeros(1, 4, 8, 8)
    return Case(config, comfy.model_base.HunyuanDiT, latent, cond(1, 0), cond(2, 1), "blocks", "attn2", text_keys)


def ernie_case():
    if not hasattr(comfy.model_base, "ErnieImage"):
        return None
    config = comfy.supported_models.ErnieImage(
        {
            "image_model": "ernie",
            "hidden_size": 64,
            "num_attention_heads": 4,
            "num_layers": 2,
            "ffn_hidden_size": 128,
            "in_channels": 128,
            "out_channels": 128,
            "patch_size": 1,
            "text_in_dim": 48,
            "rope_axes_dim": (4, 6, 6),
        }
    )
    image = 16  # a 4×4 latent, patch size 1

    def cond(seed):
        return [[torch.randn(1, 5, 48, generator=gen(seed)), {}]]

    def text_keys(c, n_query, n_key):
        keys = torch.zeros(n_key, dtype=torch.bool)
        keys[image:] = True  # [image ‖ text]
        return keys, slice(0, image)

    latent = torch.zeros(1, 128, 4, 4)
    return Case(config, comfy.model_base.ErnieImage, latent, cond(1), cond(2), "layers", "self_attention", text_keys)


CASES = {"pixart": pixart_case, "hunyuan_dit": hunyuan_dit_case, "ernie_image": ernie_case}


def build(case):
    return tiny_model(case.config, case.model_class, buffers=False, eval_mode=True)


def sample(case, model, cfg=1.0, steps=2):
    noise = torch.randn(case.latent.shape, generator=gen(3))
    with torch.inference_mode():
        return comfy.sample.sample(
            model, noise, steps, cfg, "euler", "simple", case.positive, case.negative, case.latent,
            disable_pbar=True, seed=0,
        )  # fmt: skip


def pack_module(suffix):
    return next(m for name, m in sys.modules.items() if name.endswith(suffix) and hasattr(m, "PladisForward"))


def record(model, calls):
    """Records every attention PLADIS computes, with the cond/uncond order of its model call."""
    forward_class = pack_module(".nodes.object_patch").PladisForward
    original = forward_class.attention
    order = []

    def spy(self, q, k, v, layout):
        out = original(self, q, k, v, layout)
        calls.append((*(t.detach().clone() for t in (q, k, v, out)), list(order[-1])))
        return out

    def order_wrapper(executor, *args, **kwargs):
        options = kwargs.get("transformer_options", args[5] if len(args) > 5 else {})
        order.append(options.get("cond_or_uncond", [0]))
        return executor(*args, **kwargs)

    model.add_wrapper_with_key("apply_model", "zz_runner_order", order_wrapper)
    forward_class.attention = spy
    return lambda: setattr(forward_class, "attention", original)


def oracle_error(case, calls, scale=2.0):
    """Max error of each recorded PLADIS attention vs the float64 formula over this runner's text keys, relative to
    max|out|; keys are reordered text first (attention does not depend on key order) to use the joint formula."""
    worst = 0.0
    for q, k, v, out, order in calls:
        for b in range(q.shape[0]):
            c = order[b * len(order) // q.shape[0]]
            keys, rows = case.text_keys(c, q.shape[2], k.shape[2])
            perm = torch.cat([keys.nonzero().flatten(), (~keys).nonzero().flatten()])
            text = slice(0, int(keys.sum()))
            qb, kb, vb = q[b : b + 1], k[b : b + 1, :, perm], v[b : b + 1, :, perm]
            # The changed rows first too: joint_reference changes the rows of one slice.
            reference = joint_reference(qb, kb, vb, text, rows, 1.5, scale)
            worst = max(worst, float((out[b : b + 1].double() - reference).abs().max() / reference.abs().max()))
    return worst


def main():
    case = CASES[KIND]()
    if case is None:
        print(json.dumps({"absent": True, "kind": KIND}))
        return
    report = {"kind": KIND, "absent": False, "loaded": harness.load_pack(PACK_DIR)}
    model = build(case)
    blocks = getattr(model.model.diffusion_model, case.blocks)
    originals = [getattr(b, case.module) for b in blocks]
    patched, info = pladis(model)
    report.update(summary=info["summary"], patched=info["patched"], available=info["available"])
    report["object_patches"] = sorted(k for k in patched.object_patches if k.endswith(case.module))

    base = sample(case, model)
    out = sample(case, patched)
    report["finite"], report["changes_output"] = finite(out), not torch.equal(out, base)
    report["cfg2_finite"] = finite(sample(case, patched, cfg=2.0))
    report["scale0_bit_identical"] = torch.equal(sample(case, pladis(model, scale=0.0)[0]), base)
    report["input_model_untouched"] = (
        torch.equal(sample(case, model), base)
        and not model.object_patches
        and all(getattr(b, case.module) is m for b, m in zip(blocks, originals, strict=True))
        and all("forward" not in vars(m) for m in originals)
    )
    for name, cfg in (("cfg1", 1.0), ("cfg2", 2.0)):
        calls = []
        probe = pladis(model)[0]
        restore = record(probe, calls)
        sample(case, probe, cfg=cfg, steps=1)
        restore()
        report[f"{name}_patched_calls"] = len(calls)
        report[f"{name}_batch"] = max(c[0].shape[0] for c in calls) if calls else 0
        report[f"{name}_oracle_max_error"] = oracle_error(case, calls)

    # The twins' q, k, v are the module's own: with dense attention in PLADIS's place, the model's output.
    forward_class = pack_module(".nodes.object_patch").PladisForward
    original = forward_class.attention
    forward_class.attention = lambda self, q, k, v, layout: torch.nn.functional.scaled_dot_product_attention(q, k, v)
    try:
        dense_twins = sample(case, pladis(model)[0], cfg=2.0)
    finally:
        forward_class.attention = original
    base_cfg2 = sample(case, model, cfg=2.0)
    report["dense_twins_max_error"] = float((dense_twins - base_cfg2).abs().max() / base_cfg2.abs().max())

    calls = []
    probe = pladis(model, end_percent=0.3)[0]  # of the 2 steps, only the first is in range
    restore = record(probe, calls)
    sample(case, probe, steps=2)
    restore()
    report["step_range_patched_calls"] = len(calls)
    report["blocks"] = len(blocks)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
