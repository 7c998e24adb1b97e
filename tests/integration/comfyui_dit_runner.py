"""Runs inside a real ComfyUI (its interpreter, its root as working directory) and prints one JSON line.

    python comfyui_dit_runner.py PACK_DIR {flux,flux_masked,kontext,chroma,sd3,qwen,wan,wan_i2v} [pytorch|split|quad]

Tiny Flux-, Chroma-, SD3-, Qwen-Image- and Wan-structured models built from ComfyUI's own classes with random
weights; the pack
is loaded by ComfyUI's loader; sampling is ComfyUI's. The attention calls PLADIS makes are recorded and
checked against the float64 joint formula of tests/oracles.py.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sys
import types

import harness

PACK_DIR, KIND = sys.argv[1], sys.argv[2]
BACKEND_FLAGS = {"pytorch": "--use-pytorch-cross-attention", "split": "--use-split-cross-attention", "quad": None}
BACKEND = sys.argv[3] if len(sys.argv) > 3 else "quad"
harness.start(PACK_DIR, (BACKEND_FLAGS[BACKEND],) if BACKEND_FLAGS[BACKEND] else ())

import comfy.ldm.chroma.model  # noqa: E402
import comfy.ldm.flux.model  # noqa: E402
import comfy.model_base  # noqa: E402
import comfy.model_patcher  # noqa: E402
import comfy.sample  # noqa: E402
import comfy.supported_models  # noqa: E402
import torch  # noqa: E402
from comfy.ldm.modules import attention  # noqa: E402
from family_cases.flux import FLUX_TINY  # noqa: E402
from family_cases.wan import WAN_TINY  # noqa: E402
from harness import finite, heads_view, load_pack, pladis, tiny_model  # noqa: E402
from oracles import joint_reference  # noqa: E402

import nodes  # noqa: E402, F401  (ComfyUI's, before the pack's modules)
from pladis_core.joint_attention import additive_mask  # noqa: E402

TEXT_TOKENS, CONTEXT_DIM = 5, 48
# Image latents: 4x4 = 16 tokens with patch 2; Qwen-Image and Wan use 5-D (video) latents, Wan with 2 frames.
WAN = KIND.startswith("wan")
LATENT = (
    torch.zeros(1, 16, 2, 8, 8) if WAN else torch.zeros(1, 16, 1, 8, 8) if KIND == "qwen" else torch.zeros(1, 16, 8, 8)
)
IMAGE_TOKENS = 32 if WAN else 16
REFERENCE = torch.randn(1, 16, 4, 6, generator=torch.Generator().manual_seed(5))  # 2x3 = 6 tokens
NOISE = torch.randn(LATENT.shape, generator=torch.Generator().manual_seed(3))
PARTS = ["block"] if WAN else ["double"] if KIND in ("sd3", "qwen") else ["double", "single"]


def flux_params(extra):
    return {**FLUX_TINY, **extra}


def build_model():
    if KIND in ("flux", "flux_masked", "kontext"):
        config = flux_params({"image_model": "flux", "guidance_embed": True, "vec_in_dim": 32})
        if "txt_ids_dims" in {f.name for f in dataclasses.fields(comfy.ldm.flux.model.FluxParams)}:
            config["txt_ids_dims"] = []
        model_config, model_class = comfy.supported_models.Flux(config), comfy.model_base.Flux
    elif KIND == "chroma":
        # Chroma counts channels after patching (16 latent channels x 2 x 2).
        config = flux_params({"image_model": "chroma", "in_dim": 64, "out_dim": 64, "hidden_dim": 64, "n_layers": 1})
        config.update(in_channels=64, out_channels=64)
        fields = {f.name for f in dataclasses.fields(comfy.ldm.chroma.model.ChromaParams)}
        config.update({k: v for k, v in {"txt_ids_dims": [], "vec_in_dim": 32}.items() if k in fields})
        model_config, model_class = comfy.supported_models.Chroma(config), comfy.model_base.Chroma
    elif KIND == "qwen":
        config = {
            "image_model": "qwen_image",
            "patch_size": 2,
            "in_channels": 64,
            "out_channels": 16,
            "num_layers": 2,
            "attention_head_dim": 16,
            "num_attention_heads": 4,
            "joint_attention_dim": CONTEXT_DIM,
            "axes_dims_rope": (4, 6, 6),
        }
        model_config, model_class = comfy.supported_models.QwenImage(config), comfy.model_base.QwenImage
    elif WAN:
        i2v = KIND == "wan_i2v"
        config = {
            "image_model": "wan2.1",
            "model_type": "i2v" if i2v else "t2v",
            **WAN_TINY,
            "in_dim": 36 if i2v else 16,
            "out_dim": 16,
        }
        model_config = (comfy.supported_models.WAN21_I2V if i2v else comfy.supported_models.WAN21_T2V)(config)
        model_class = functools.partial(comfy.model_base.WAN21, image_to_video=i2v)
    else:
        config = {
            "in_channels": 16,
            "out_channels": 16,
            "pos_embed_scaling_factor": None,
            "patch_size": 2,
            "depth": 2,
            "num_patches": 64,
            "pos_embed_max_size": 8,
            "adm_in_channels": 32,
            "context_embedder_config": {
                "target": "torch.nn.Linear",
                "params": {"in_features": 48, "out_features": 128},
            },
            "qk_norm": None,
            "x_block_self_attn_layers": [],
            "input_size": None,
        }
        model_config, model_class = comfy.supported_models.SD3(config), comfy.model_base.SD3
    return tiny_model(model_config, model_class)


def conds(seed):
    g = torch.Generator().manual_seed(seed)
    extra = {} if KIND == "qwen" or WAN else {"pooled_output": torch.randn(1, 32, generator=g)}
    if KIND == "wan_i2v":
        # The start image (its latent and mask) and its CLIP vision embedding: 257 tokens of their own.
        vision = types.SimpleNamespace(penultimate_hidden_states=torch.randn(1, 257, 1280, generator=g))
        extra.update(
            concat_latent_image=torch.zeros(1, 16, 2, 8, 8),
            concat_mask=torch.zeros(1, 4, 2, 8, 8),
            clip_vision_output=vision,
        )
    if KIND in ("flux", "flux_masked", "kontext"):
        extra["guidance"] = 3.5
    if KIND == "kontext":
        extra["reference_latents"] = [REFERENCE]
    if KIND == "flux_masked":
        # Image queries may not look at text tokens 2 and 3 (an additive mask over [text | image]).
        mask = torch.zeros(1, TEXT_TOKENS + IMAGE_TOKENS, TEXT_TOKENS + IMAGE_TOKENS)
        mask[:, TEXT_TOKENS:, 2:4] = float("-inf")
        extra.update(attention_mask=mask, attention_mask_img_shape=(4, 4))
    return [[torch.randn(1, TEXT_TOKENS, CONTEXT_DIM, generator=g), extra]]


POSITIVE, NEGATIVE = conds(1), conds(2)


def sample(model, cfg=1.0, steps=2):
    with torch.no_grad():
        return comfy.sample.sample(
            model, NOISE, steps, cfg, "euler", "simple", POSITIVE, NEGATIVE, LATENT, disable_pbar=True, seed=0
        )


def record_calls(model):
    """Wraps the installed override: records every call's inputs and output, and the forward states seen."""
    options = model.model_options["transformer_options"]
    inner = options["optimized_attention_override"]
    calls, forwards = [], []

    def spy(func, *args, **kwargs):
        forward = (kwargs.get("transformer_options") or {}).get("pladis_joint_forward")
        before = forward.patched_calls if forward else 0
        out = inner(func, *args, **kwargs)
        if forward is not None and all(f is not forward for f in forwards):
            forwards.append(forward)
        calls.append((args, dict(kwargs), out, bool(forward and forward.patched_calls > before)))
        return out

    options["optimized_attention_override"] = spy
    return calls, forwards


def text_and_image(length_q, length_k):
    """The token slices PLADIS should use for a call of this model (Wan: all keys are text)."""
    if WAN:
        return slice(0, length_k), slice(0, length_q)
    if KIND == "sd3":
        return slice(0, length_q - IMAGE_TOKENS), slice(length_q - IMAGE_TOKENS, length_q)
    return slice(0, TEXT_TOKENS), slice(TEXT_TOKENS, TEXT_TOKENS + IMAGE_TOKENS)


def oracle_errors(calls, scale=2.0):
    """Max |output − float64 formula| over the calls PLADIS changed, and over the others vs dense attention."""
    worst_patched, worst_dense, changed = 0.0, 0.0, 0
    for args, kwargs, out, was_patched in calls:
        q, k, v = args[:3]
        heads = args[3] if len(args) > 3 else kwargs["heads"]
        skip = kwargs.get("skip_reshape", False)
        q4, k4, v4 = (heads_view(t, heads, skip) for t in (q, k, v))
        length = q4.shape[2]
        out4 = out.view(out.shape[0], length, heads, -1).transpose(1, 2)
        text, image = text_and_image(length, k4.shape[2])
        mask = args[4] if len(args) > 4 else kwargs.get("mask")
        bias = additive_mask(mask, torch.float64)
        reference = joint_reference(q4, k4, v4, text, image, 1.5, scale if was_patched else 0.0, bias=bias)
        error = float((out4.double() - reference).abs().max())
        if was_patched:
            changed += 1
            worst_patched = max(worst_patched, error)
        else:
            worst_dense = max(worst_dense, error)
    return changed, worst_patched, worst_dense


def main():
    report = {"backend": attention.optimized_attention.__name__, "kind": KIND}
    loaded = load_pack(PACK_DIR)
    report["loaded"] = loaded
    model = build_model()
    patched, info = pladis(model)
    report["summary"] = info["summary"]
    report["patched"], report["available"] = info["patched"], info["available"]
    report["input_untouched"] = "optimized_attention_override" not in model.model_options["transformer_options"]

    base = sample(model)
    out = sample(patched)
    report["finite"], report["changes_output"] = finite(out), not torch.equal(out, base)
    report["cfg2_finite"] = finite(sample(patched, cfg=2.0))
    report["scale0_bit_identical"] = torch.equal(sample(pladis(model, scale=0.0)[0]), base)
    # The two 'simple' steps evaluate the model at sigma 1.0 and 0.5 (flow models); 70%-90% holds neither.
    outside = pladis(model, start_percent=0.7, end_percent=0.9)[0]
    report["outside_range_bit_identical"] = torch.equal(sample(outside), base)

    probe = pladis(model)[0]
    calls, forwards = record_calls(probe)
    sample(probe, steps=1)
    changed, worst_patched, worst_dense = oracle_errors(calls)
    report["calls"], report["changed_calls"] = len(calls), changed
    report["masked_calls"] = sum((a[4] if len(a) > 4 else kw.get("mask")) is not None for a, kw, _, _ in calls)
    report["oracle_max_error"], report["dense_max_error"] = worst_patched, worst_dense

    report["parts"] = PARTS
    for part in PARTS:
        selective = pladis(model, layers="custom", custom_layers=f"{part} 1")[0]
        calls, _ = record_calls(selective)
        sample(selective, steps=1)
        changed, worst, _ = oracle_errors(calls)
        report[f"changed_calls_{part}_1"], report[f"oracle_max_error_{part}_1"] = changed, worst

    counting = {"n": 0}

    def counting_override(func, *args, **kwargs):
        counting["n"] += 1
        return func(*args, **kwargs)

    chained = model.clone()
    chained.model_options["transformer_options"]["optimized_attention_override"] = counting_override
    chained_patched, chained_info = pladis(chained)
    calls, _ = record_calls(chained_patched)
    sample(chained_patched, steps=1)
    report["counting_override_calls"], report["attention_calls"] = counting["n"], len(calls)
    changed, worst_patched, _ = oracle_errors(calls)
    report["chained_changed_calls"], report["chained_oracle_max_error"] = changed, worst_patched
    report["chained_kept"] = chained_info["kept_patches"]
    print(json.dumps(report))


if __name__ == "__main__":
    main()
