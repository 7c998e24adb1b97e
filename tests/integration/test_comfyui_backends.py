"""A Flux-width joint-attention call through each of ComfyUI's own attention backends (opt-in: COMFYUI_PATH).

24 heads of 128, 4096 image + 512 text tokens (Flux at 1024²), float32 and bfloat16, through ComfyUI's basic,
split, sub-quadratic and PyTorch backends with PLADIS's override installed: the dense pass splits the heads
into groups there, which tiny models never do. About a minute per backend on two CPU cores (the basic backend
holds full score matrices of a group of heads).
"""

import pytest
from comfyui import requires_comfyui, run_in_comfyui

pytestmark = requires_comfyui

BACKENDS = ("basic", "split", "sub_quad", "pytorch")


@pytest.fixture(scope="module", params=BACKENDS)
def report(request):
    return run_in_comfyui("comfyui_backends_runner.py", request.param, timeout=1800)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_the_call_runs_and_is_patched(report, dtype):
    assert f"{dtype}_error" not in report, report.get(f"{dtype}_error")
    assert report[f"{dtype}_patched_calls"] == 1 and report[f"{dtype}_finite"]


def test_float32_equals_the_float64_formula(report):
    assert report["float32_relative_error"] <= 1e-4  # of max|out|


def test_bfloat16_within_its_own_rounding(report):
    # In bfloat16 ulps at max|out|: rounding the float64 result to bfloat16 alone is up to ½.
    assert report["bfloat16_ulps"] <= 2
    assert report["bfloat16_ulps_vs_rounded"] <= 2


def test_softmax_scale_and_grouped_key_heads_of_the_call(report):
    assert report["scale_relative_error"] <= 1e-5
    assert report["gqa_relative_error"] <= 1e-5


def test_inputs_in_attention_tensor_containers(report):
    if not report["has_containers"]:
        pytest.skip("this ComfyUI has no AttentionTensorContainer (older than 0.33)")
    assert report["containers_equal"]
