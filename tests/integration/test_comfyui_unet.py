"""PLADIS on tiny SD1.5- and SDXL-structured UNets inside a real ComfyUI (opt-in: COMFYUI_PATH)."""

import pytest
from comfyui import requires_comfyui, run_in_comfyui

pytestmark = requires_comfyui


@pytest.fixture(scope="module", params=["sd15", "sdxl"])
def report(request):
    return run_in_comfyui("comfyui_unet_runner.py", request.param)


def test_comfyui_loads_the_pack(report):
    assert report["loaded"]
    assert report["new_nodes"] == ["PLADISAttentionMaps", "PLADISAttentionMapsRecord", "PLADISModelPatch"]


def test_patches_the_real_block_keys(report):
    assert report["default_keys_ok"], "default = every input and output cross-attention, middle excluded"
    assert report["all_keys_ok"]
    assert report["called_keys_ok"], "ComfyUI's BasicTransformerBlock calls the replacement at exactly those keys"
    assert report["input_untouched"]


def test_two_step_sampling_is_finite_and_changed(report):
    assert report["pladis_finite"] and report["pladis_changes_output"]
    assert report["cfg1_finite"] and report["cfg1_optimization_kept"]
    assert report["bf16_finite"]


def test_scale_zero_and_outside_the_range_are_bit_identical(report):
    assert report["scale0_bit_identical"]
    assert report["outside_range_bit_identical"]


def test_pag_stacked_after_pladis(report):
    assert report["pag_finite"] and report["pag_changes_output"] and report["pag_keeps_pladis"]


def test_controlnet_applied(report):
    assert report["controlnet_finite"] and report["controlnet_changes_output"]


def test_repeat_padded_negative_prompt_gets_its_own_result(report):
    assert report["repeat_padding_max_diff"] <= 1e-5 * max(1.0, report["repeat_padding_output_scale"])


def test_attention_override_and_foreign_attn2_patch_still_run(report):
    # One self-attention call per transformer block plus the unpatched middle cross-attentions.
    assert report["override_calls"] == report["sites"] + (report["sites"] - report["calls_per_step"])
    assert report["foreign_calls"] == 1 and report["foreign_kept"] == 1
    assert report["late_foreign_calls"] == 1, "a (part, block)-keyed patch added after PLADIS still runs"
