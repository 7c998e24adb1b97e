"""ComfyUI's other UNet families, each tiny from its own classes, in a real ComfyUI (opt-in: COMFYUI_PATH); see
comfyui_unet_family_runner.py. A family this ComfyUI does not have is skipped."""

import pytest
from comfyui import requires_comfyui, run_in_comfyui

pytestmark = requires_comfyui

PATCHED = (
    "sdxl_refiner",
    "ssd1b",
    "vega",
    "koala_700m",
    "koala_1b",
    "sd15_ip2p",
    "sdxl_ip2p",
    "sd21_unclip",
    "x4_upscaler",
    "lotus",
)
REFUSED = {
    "svd": "Stable Video Diffusion's (and SV3D's) cross-attention attends a CLIP-vision image embedding, not text",
    "sv3d_p": "Stable Video Diffusion's (and SV3D's) cross-attention attends a CLIP-vision image embedding, not text",
    "zero123": "Stable Zero123's cross-attention attends a CLIP-vision image embedding, not text",
}


def run(variant):
    report = run_in_comfyui("comfyui_unet_family_runner.py", variant)
    if report["absent"]:
        pytest.skip(f"this ComfyUI has no {report['family']}")
    return report


@pytest.mark.parametrize("variant", PATCHED)
def test_patched_like_sd15_and_sdxl(variant):
    report = run(variant)
    assert report["loaded"] and report["default_keys_ok"] and report["default_sites"] > 0
    assert report["finite"] and report["changes_output"] and report["cfg1_finite"]
    assert report["scale0_bit_identical"]


@pytest.mark.parametrize("variant", sorted(REFUSED))
def test_refused_with_the_reason(variant):
    report = run(variant)
    assert report["loaded"] and report["input_untouched"]
    assert report["error"] is not None and REFUSED[variant] in report["error"]
