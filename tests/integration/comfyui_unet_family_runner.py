"""Runs inside a real ComfyUI (its interpreter, its root as working directory) and prints one JSON line.

    python comfyui_unet_family_runner.py PACK_DIR VARIANT

ComfyUI's other UNet families, each built tiny from its own ``supported_models`` class (``get_model``, so the
family's own ``model_base`` class and conditioning) with its block layout (transformer depths capped at 2): the
SDXL refiner, SSD-1B, Vega, KOALA, InstructPix2Pix (SD1.5, SDXL), SD 2.1 unCLIP, the x4 upscaler and Lotus are
patched like SD1.5/SDXL; SVD, SV3D and Stable Zero123, whose cross-attention attends an image embedding, are
refused. tests/integration/test_comfyui_unet_families.py asserts on the report.
"""

from __future__ import annotations

import json
import sys

import harness

PACK_DIR, VARIANT = sys.argv[1], sys.argv[2]
harness.start(PACK_DIR)

import comfy.model_patcher  # noqa: E402
import comfy.sample  # noqa: E402
import comfy.supported_models  # noqa: E402
import torch  # noqa: E402

import nodes  # noqa: E402, F401  (ComfyUI's, imported before the model is built, as ComfyUI does)

CPU = torch.device("cpu")
CONTEXT_DIM = 64
LATENT = torch.zeros(1, 4, 16, 16)

# variant -> (supported_models class, res blocks per level, extra conditioning, patched (or refused))
VARIANTS = {
    "sdxl_refiner": ("SDXLRefiner", 2, {"pooled_output": 1280, "aesthetic_score": 6.0}, True),
    "ssd1b": ("SSD1B", 2, {"pooled_output": 1280}, True),
    "vega": ("Segmind_Vega", 2, {"pooled_output": 1280}, True),
    "koala_700m": ("KOALA_700M", 1, {"pooled_output": 1280}, True),
    "koala_1b": ("KOALA_1B", 1, {"pooled_output": 1280}, True),
    "sd15_ip2p": ("SD15_instructpix2pix", 2, {"concat_latent_image": True}, True),
    "sdxl_ip2p": ("SDXL_instructpix2pix", 2, {"pooled_output": 1280, "concat_latent_image": True}, True),
    "sd21_unclip": ("SD21UnclipH", 2, {}, True),
    "x4_upscaler": ("SD_X4Upscaler", 2, {"concat_image": True}, True),
    "lotus": ("LotusD", 2, {}, True),
    "svd": ("SVD_img2vid", 2, {}, False),
    "sv3d_p": ("SV3D_p", 2, {}, False),
    "zero123": ("Stable_Zero123", 2, {}, False),
}


def tiny_config(config_class, res_blocks):
    """The family's own unet_config (its layout keys) at tiny widths, depths capped at 2."""
    config = dict(config_class.unet_config)
    depth = config.get("transformer_depth") or [1] * res_blocks * 3 + [0] * res_blocks  # SD1.5 and SD2.x
    levels = len(depth) // res_blocks
    depth = [min(d, 2) for d in depth]
    per_level = [max(depth[level * res_blocks : (level + 1) * res_blocks]) for level in range(levels)]
    config.update(
        model_channels=32,
        num_res_blocks=[res_blocks] * levels,
        channel_mult=[1] + [2] * (levels - 1),
        transformer_depth=depth,
        transformer_depth_output=[d for d in per_level for _ in range(res_blocks + 1)],
        transformer_depth_middle=max(per_level[-1], 1),
        context_dim=CONTEXT_DIM,
        use_spatial_transformer=True,
        legacy=False,
        use_checkpoint=False,
        image_size=32,
        use_temporal_resblock=config.get("use_temporal_resblock", False),
        out_channels=4,
    )
    if config.get("use_temporal_attention"):  # (SVD's video blocks, as ComfyUI's model detection sets them)
        config.update(
            extra_ff_mix_layer=True,
            use_spatial_context=True,
            merge_strategy="learned_with_images",
            merge_factor=0.0,
            video_kernel_size=[3, 1, 1],
            use_temporal_resblock=True,
            disable_temporal_crossattention=False,
            max_ddpm_temb_period=10000,
        )
    config.setdefault("in_channels", 4)
    config.setdefault("use_temporal_attention", False)
    if config.get("adm_in_channels") and "num_classes" not in config_class.unet_extra_config:
        config["num_classes"] = "sequential"
    return config


def build(name, res_blocks):
    config_class = getattr(comfy.supported_models, name)
    model_config = config_class(tiny_config(config_class, res_blocks))
    model_config.unet_config.update(num_heads=-1, num_head_channels=16)
    model_config.set_inference_dtype(torch.float32, None)
    state_dict = {}
    if name == "Stable_Zero123":
        state_dict = {"cc_projection.weight": torch.zeros(768, 772), "cc_projection.bias": torch.zeros(768)}
    with torch.no_grad():  # (ComfyUI 0.3.64 copies Zero123's projection in place)
        model = model_config.get_model(state_dict, device=CPU)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.05)
    return comfy.model_patcher.ModelPatcher(model, CPU, CPU)


def conds(extra_spec, tokens, seed):
    g = torch.Generator().manual_seed(seed)
    extra = {}
    for key, value in extra_spec.items():
        if key == "pooled_output":
            extra[key] = torch.randn(1, value, generator=g)
        elif value is True:  # an image latent the family concatenates to the noise
            extra[key] = torch.randn(1, 4 if key == "concat_latent_image" else 3, 16, 16, generator=g)
        else:
            extra[key] = value
    return [[torch.randn(1, tokens, CONTEXT_DIM, generator=g), extra]]


def sample(model, positive, negative, cfg=5.0, latent=LATENT):
    noise = torch.randn(latent.shape, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        return comfy.sample.sample(
            model, noise, 2, cfg, "euler", "normal", positive, negative, latent, disable_pbar=True, seed=0
        )


def attn2_keys(model):
    return sorted(model.model_options["transformer_options"].get("patches_replace", {}).get("attn2", {}))


def main():
    name, res_blocks, extra, patched_family = VARIANTS[VARIANT]
    report = {"variant": VARIANT, "family": name, "absent": not hasattr(comfy.supported_models, name)}
    if report["absent"]:
        print(json.dumps(report))
        return
    report["loaded"] = harness.load_pack(PACK_DIR)
    model = build(name, res_blocks)

    def pladis(scale=2.0):
        return harness.pladis(model, scale=scale)[0]

    if not patched_family:
        try:
            pladis()
            report["error"] = None
        except ValueError as error:
            report["error"] = str(error)
        report["input_untouched"] = attn2_keys(model) == []
        print(json.dumps(report))
        return

    sites = harness.unet_cross_attention_sites(model)
    default = sorted(s for s in sites if s[0] != "middle")
    patched = pladis()
    report["sites"], report["default_sites"] = len(sites), len(default)
    report["default_keys_ok"] = attn2_keys(patched) == default
    positive, negative = conds(extra, 154, 1), conds(extra, 77, 2)
    base = sample(model, positive, negative)
    out = sample(patched, positive, negative)
    report["finite"] = bool(torch.isfinite(out).all())
    report["changes_output"] = not torch.equal(out, base)
    report["cfg1_finite"] = bool(torch.isfinite(sample(patched, positive, negative, cfg=1.0)).all())
    report["scale0_bit_identical"] = torch.equal(sample(pladis(0.0), positive, negative), base)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
