"""PLADIS through object patches on tiny PixArt, HunyuanDiT and ERNIE-Image models in a real ComfyUI (opt-in:
COMFYUI_PATH); see comfyui_objpatch_runner.py. A family this ComfyUI does not have is skipped."""

import pytest
from comfyui import requires_comfyui, run_in_comfyui

pytestmark = requires_comfyui


@pytest.fixture(scope="module", params=("pixart", "hunyuan_dit", "ernie_image"))
def report(request):
    result = run_in_comfyui("comfyui_objpatch_runner.py", request.param)
    if result["absent"]:
        pytest.skip(f"this ComfyUI has no {request.param}")
    return result


def test_every_block_is_object_patched_on_the_clone(report):
    assert report["loaded"]
    assert report["patched"] == report["available"] == report["blocks"] > 0
    assert len(report["object_patches"]) == report["blocks"]


def test_sampling_is_finite_changed_and_scale_zero_is_bit_identical(report):
    assert report["finite"] and report["changes_output"] and report["cfg2_finite"]
    assert report["scale0_bit_identical"]


def test_the_input_model_is_untouched(report):
    assert report["input_model_untouched"]


def test_the_twins_compute_the_modules_own_queries_keys_and_values(report):
    assert report["dense_twins_max_error"] <= 1e-4


@pytest.mark.parametrize("cfg", ["cfg1", "cfg2"])
def test_every_patched_attention_matches_the_float64_formula_on_the_familys_text_keys(report, cfg):
    # Relative to max|out|; the oracle's untouched rows and filler columns are dense attention.
    assert report[f"{cfg}_patched_calls"] == report["blocks"]
    assert report[f"{cfg}_batch"] == (2 if cfg == "cfg2" else 1)
    assert report[f"{cfg}_oracle_max_error"] <= 1e-4


def test_the_step_range_is_honoured(report):
    # Two steps, end_percent 0.3: the first step's calls only.
    assert report["step_range_patched_calls"] == report["blocks"]
