"""Runs inside a real ComfyUI (its interpreter, its root as working directory) and prints one JSON line.

    python comfyui_unet_runner.py PACK_DIR {sd15,sdxl}

The pack is loaded by ComfyUI's own custom-node loader; the models are tiny SD1.5- and SDXL-structured UNets
built from ComfyUI's classes with random weights; sampling is ComfyUI's (comfy.sample, 2 Euler steps).
Every check is computed here and reported; tests/integration/test_comfyui_unet.py asserts on them.
"""

from __future__ import annotations

import json
import sys

import harness

PACK_DIR, KIND = sys.argv[1], sys.argv[2]
harness.start(PACK_DIR)

import comfy.cldm.cldm  # noqa: E402
import comfy.controlnet  # noqa: E402
import comfy.model_base  # noqa: E402
import comfy.model_patcher  # noqa: E402
import comfy.ops  # noqa: E402
import comfy.sample  # noqa: E402
import comfy.supported_models  # noqa: E402
import torch  # noqa: E402
from comfy.ldm.modules import attention  # noqa: E402
from comfy_extras import nodes_pag  # noqa: E402
from harness import finite, pladis, unet_cross_attention_sites  # noqa: E402

import nodes  # noqa: E402

CPU = torch.device("cpu")
CONTEXT_DIM = 64

TINY_UNETS = {
    # Same block layout as SD1.5 (attention in input 1,2,4,5,7,8, middle, output 3-11), tiny widths.
    "sd15": dict(
        model_channels=32,
        num_res_blocks=[2, 2, 2, 2],
        channel_mult=[1, 2, 2, 2],
        transformer_depth=[1, 1, 1, 1, 1, 1, 0, 0],
        transformer_depth_output=[1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
        transformer_depth_middle=1,
        use_linear_in_transformer=False,
        adm_in_channels=None,
    ),
    # Same layout as SDXL (attention in input 4,5 (depth 1 here), 7,8 (depth 2), middle, output 0-5).
    "sdxl": dict(
        model_channels=32,
        num_res_blocks=[2, 2, 2],
        channel_mult=[1, 2, 2],
        transformer_depth=[0, 0, 1, 1, 2, 2],
        transformer_depth_output=[0, 0, 0, 1, 1, 1, 2, 2, 2],
        transformer_depth_middle=2,
        use_linear_in_transformer=True,
        adm_in_channels=2816,
        num_classes="sequential",
    ),
}
COMMON = dict(
    in_channels=4,
    out_channels=4,
    context_dim=CONTEXT_DIM,
    use_temporal_attention=False,
    use_spatial_transformer=True,
    legacy=False,
    use_checkpoint=False,
    image_size=32,
    use_temporal_resblock=False,
)


def randomize(module: torch.nn.Module, seed: int) -> None:
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, 0.05)


def build_model(dtype=torch.float32):
    unet_config = {**COMMON, **TINY_UNETS[KIND]}
    if KIND == "sd15":
        config = comfy.supported_models.SD15(unet_config)
        config.unet_config.update(num_heads=4, num_head_channels=-1)
        model_class = comfy.model_base.BaseModel
    else:
        config = comfy.supported_models.SDXL(unet_config)
        config.unet_config.update(num_heads=-1, num_head_channels=16)
        model_class = comfy.model_base.SDXL
    config.set_inference_dtype(dtype, None)
    model = model_class(config, device=CPU)
    randomize(model, 0)
    return comfy.model_patcher.ModelPatcher(model, CPU, CPU), config.unet_config


def build_controlnet(unet_config):
    config = {**unet_config, "dtype": torch.float32, "device": CPU}
    control_model = comfy.cldm.cldm.ControlNet(hint_channels=3, operations=comfy.ops.disable_weight_init, **config)
    randomize(control_model, 1)
    return comfy.controlnet.ControlNet(control_model, load_device=CPU, manual_cast_dtype=None)


def conds(tokens: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    extra = {"pooled_output": torch.randn(1, 1280, generator=g)} if KIND == "sdxl" else {}
    return [[torch.randn(1, tokens, CONTEXT_DIM, generator=g), extra]]


POSITIVE, NEGATIVE = conds(154, 1), conds(77, 2)
LATENT = torch.zeros(1, 4, 16, 16)
NOISE = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(3))


def sample(model, positive=POSITIVE, negative=NEGATIVE, cfg=5.0):
    with torch.no_grad():
        return comfy.sample.sample(
            model, NOISE, 2, cfg, "euler", "normal", positive, negative, LATENT, disable_pbar=True, seed=0
        )


def load_pack():
    before = set(nodes.NODE_CLASS_MAPPINGS)
    loaded = harness.load_pack(PACK_DIR)
    return loaded, sorted(set(nodes.NODE_CLASS_MAPPINGS) - before)


def attn2_keys(model):
    return sorted(model.model_options["transformer_options"].get("patches_replace", {}).get("attn2", {}))


def called_attn2_keys(model):
    """The (block, block_index) of every attn2 replacement call during one 1-step sampling."""
    seen = []

    def recording(target):
        def call(q, k, v, extra_options):
            block = extra_options["block"]
            seen.append((block[0], block[1], extra_options["block_index"]))
            return target(q, k, v, extra_options)

        return call

    probe = model.clone()
    for key, target in list(probe.model_options["transformer_options"]["patches_replace"]["attn2"].items()):
        probe.set_model_attn2_replace(recording(target), *key)
    with torch.no_grad():
        comfy.sample.sample(probe, NOISE, 1, 1.0, "euler", "normal", POSITIVE, NEGATIVE, LATENT, disable_pbar=True)
    return sorted(set(seen)), len(seen)


def forward(model, context, sigma=5.0, pooled=None):
    """One direct model call with the patches of ``model`` (no sampler): the raw UNet output."""
    x = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(7)).repeat(context.shape[0], 1, 1, 1)
    sigmas = torch.full((context.shape[0],), sigma)
    options = {**model.model_options["transformer_options"], "sigmas": sigmas[:1], "wrappers": model.wrappers}
    kwargs = {}
    if KIND == "sdxl":
        kwargs["y"] = model.model.encode_adm(pooled_output=pooled, width=128, height=128)
    with torch.no_grad():
        return model.model.apply_model(x, sigmas, c_crossattn=context, transformer_options=options, **kwargs)


def main():
    report = {}
    loaded, new_nodes = load_pack()
    report["loaded"], report["new_nodes"] = loaded, new_nodes
    model, unet_config = build_model()

    sites = unet_cross_attention_sites(model)
    default_sites = [s for s in sites if s[0] != "middle"]
    patched, info = pladis(model)
    report["sites"], report["default_keys_ok"] = len(sites), attn2_keys(patched) == sorted(default_sites)
    report["all_keys_ok"] = attn2_keys(pladis(model, layers="all")[0]) == sorted(sites)
    report["summary"] = info["summary"]
    report["input_untouched"] = attn2_keys(model) == []
    called, calls = called_attn2_keys(patched)
    report["called_keys_ok"], report["calls_per_step"] = called == sorted(default_sites), calls

    base = sample(model)
    out = sample(patched)
    report["pladis_finite"], report["pladis_changes_output"] = finite(out), not torch.equal(out, base)
    report["scale0_bit_identical"] = torch.equal(sample(pladis(model, scale=0.0)[0]), base)
    # The 2 Euler steps evaluate the model at sigma 14.6 and ~0.03: neither lies in 40%-60%.
    outside = pladis(model, start_percent=0.4, end_percent=0.6)[0]
    report["outside_range_bit_identical"] = torch.equal(sample(outside), base)
    report["cfg1_finite"] = finite(sample(patched, cfg=1.0))
    report["cfg1_optimization_kept"] = "disable_cfg1_optimization" not in patched.model_options

    pag = nodes_pag.PerturbedAttentionGuidance.execute(model=patched, scale=3.0).result[0]
    pag_out = sample(pag)
    report["pag_finite"], report["pag_changes_output"] = finite(pag_out), not torch.equal(pag_out, out)
    report["pag_keeps_pladis"] = attn2_keys(pag) == attn2_keys(patched)

    control = build_controlnet(unet_config)
    hint = torch.rand(1, 128, 128, 3, generator=torch.Generator().manual_seed(4))
    positive, negative = nodes.ControlNetApplyAdvanced().apply_controlnet(
        POSITIVE, NEGATIVE, control, hint, 0.8, 0.0, 1.0
    )
    cn_out = sample(patched, positive, negative)
    report["controlnet_finite"], report["controlnet_changes_output"] = finite(cn_out), not torch.equal(cn_out, out)

    # ComfyUI batches a 154-token positive with a 77-token negative by repeating the negative twice.
    positive_ctx, negative_ctx = POSITIVE[0][0], NEGATIVE[0][0]
    pooled = torch.cat([POSITIVE[0][1]["pooled_output"], NEGATIVE[0][1]["pooled_output"]]) if KIND == "sdxl" else None
    batched = forward(patched, torch.cat([positive_ctx, negative_ctx.repeat(1, 2, 1)]), pooled=pooled)
    alone = forward(patched, negative_ctx, pooled=pooled[1:] if pooled is not None else None)
    report["repeat_padding_max_diff"] = float((batched[1:] - alone).abs().max())
    report["repeat_padding_output_scale"] = float(alone.abs().max())

    calls = {"override": 0}

    def counting_override(func, *args, **kwargs):
        calls["override"] += 1
        return func(*args, **kwargs)

    with_override = model.clone()
    with_override.model_options["transformer_options"]["optimized_attention_override"] = counting_override
    patched_override, _ = pladis(with_override)
    forward(patched_override, positive_ctx, pooled=pooled[:1] if pooled is not None else None)
    report["override_calls"] = calls["override"]

    foreign_calls = {"n": 0}

    def foreign(q, k, v, extra_options):
        foreign_calls["n"] += 1
        return attention.optimized_attention(q, k, v, extra_options["n_heads"]) * 0.5

    first = default_sites[0]
    with_foreign = model.clone()
    with_foreign.set_model_attn2_replace(foreign, *first)
    patched_foreign, foreign_info = pladis(with_foreign)
    forward(patched_foreign, positive_ctx, pooled=pooled[:1] if pooled is not None else None)
    report["foreign_calls"], report["foreign_kept"] = foreign_calls["n"], foreign_info["kept_patches"]

    # A patch keyed by (part, block), as IPAdapter keys SD1.5's, added after PLADIS.
    late_foreign = pladis(model)[0]
    late_foreign.set_model_attn2_replace(foreign, *first[:2])
    foreign_calls["n"] = 0
    forward(late_foreign, positive_ctx, pooled=pooled[:1] if pooled is not None else None)
    report["late_foreign_calls"] = foreign_calls["n"]

    bf16_model, _ = build_model(torch.bfloat16)
    bf16_out = sample(pladis(bf16_model)[0])
    report["bf16_finite"] = finite(bf16_out)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
