"""PLADIS, then ComfyUI's TorchCompileModel (inductor), samples the eager result without a graph break in the
pack's code; tiny SDXL UNet and tiny Flux, ComfyUI's default CPU backend and PyTorch attention (opt-in:
COMFYUI_PATH). Slow: each case compiles two models on the CPU."""

import pytest
from comfyui import requires_comfyui, run_in_comfyui

pytestmark = requires_comfyui

TOLERANCE = 1e-4  # relative to the output's max |value|


@pytest.fixture(scope="module", params=[(m, b) for m in ("sdxl", "flux") for b in ("default", "pytorch")], ids=str)
def report(request):
    model, backend = request.param
    return {**run_in_comfyui("comfyui_compile_runner.py", model, backend, timeout=3600), "requested": backend}


def test_the_pack_loads_with_the_requested_backend(report):
    assert report["loaded"]
    assert (report["backend"] == "attention_pytorch") == (report["requested"] == "pytorch")


@pytest.mark.parametrize("case", ["full", "range"])
def test_no_graph_break_in_the_pack(report, case):
    assert report[f"{case}_pack_breaks"] == [], report[f"{case}_all_break_sites"]


@pytest.mark.parametrize("case", ["full", "range"])
def test_compiled_samples_the_eager_result(report, case):
    assert report[f"{case}_finite"]
    assert report[f"{case}_relative_error"] <= TOLERANCE


def test_the_step_range_holds_one_of_the_two_steps(report):
    assert report["full_differs_from_unpatched"]
    assert report["range_differs_from_unpatched"] and report["range_differs_from_full"]
