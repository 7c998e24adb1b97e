"""PLADIS on tiny Flux-, Chroma-, SD3-, Qwen-Image- and Wan-structured DiTs in a real ComfyUI (opt-in: COMFYUI_PATH).

Each model runs with ComfyUI's CPU default attention (sub-quadratic: the text mass rides along as an extra V
column) and with PyTorch attention (the text mass comes from the kernel's log-sum-exp).
"""

import pytest
from comfyui import requires_comfyui, run_in_comfyui

pytestmark = requires_comfyui

KINDS = ("flux", "flux_masked", "kontext", "chroma", "sd3", "qwen", "wan", "wan_i2v")
CASES = [(kind, backend) for kind in KINDS for backend in ("quad", "pytorch")]


@pytest.fixture(scope="module", params=CASES, ids=[f"{k}-{b}" for k, b in CASES])
def report(request):
    return run_in_comfyui("comfyui_dit_runner.py", *request.param)


def test_loads_and_patches_every_block(report):
    assert report["loaded"] and report["input_untouched"]
    assert report["patched"] == report["available"] > 0
    assert report["backend"] in ("attention_sub_quad", "attention_pytorch")


def test_sampling_is_finite_and_changed(report):
    assert report["finite"] and report["changes_output"] and report["cfg2_finite"]


def test_scale_zero_and_outside_the_range_are_bit_identical(report):
    assert report["scale0_bit_identical"]
    assert report["outside_range_bit_identical"]


def test_every_text_attention_matches_the_float64_formula(report):
    # Joint-attention models make one call per block; Wan a self- and a text cross-attention call per block, and
    # Wan I2V one more cross-attention to the start image's CLIP tokens, which PLADIS leaves alone.
    assert report["changed_calls"] == report["patched"]
    calls_per_block = {"flux": 1, "wan": 2, "wan_i2v": 3}
    assert report["calls"] == report["patched"] * calls_per_block.get(report["kind"], 1)
    assert report["oracle_max_error"] < 1e-5
    assert report["dense_max_error"] < 1e-5


def test_block_selection(report):
    for part in report["parts"]:
        assert report[f"changed_calls_{part}_1"] == 1
        assert report[f"oracle_max_error_{part}_1"] < 1e-5


def test_an_override_set_before_pladis_is_still_called(report):
    assert report["chained_kept"] == 1
    assert report["chained_changed_calls"] == report["patched"]
    assert report["chained_oracle_max_error"] < 1e-5
    if report["parts"] == ["block"]:
        # Wan's text cross-attention is computed by PLADIS itself, as UNet cross-attention is.
        assert report["counting_override_calls"] == report["attention_calls"] - report["patched"]
    else:
        assert report["counting_override_calls"] == report["attention_calls"]


def test_masked_case_really_passes_a_mask(report, request):
    if "masked" in request.node.callspec.id:
        assert report["masked_calls"] == report["calls"]
