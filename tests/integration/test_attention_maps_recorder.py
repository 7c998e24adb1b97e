"""The attention-map recorder on tiny real-ComfyUI models (opt-in: COMFYUI_PATH): SDXL UNet, Flux, Wan, PixArt."""

import pytest
from comfyui import requires_comfyui, run_in_comfyui

pytestmark = requires_comfyui


@pytest.fixture(scope="module", params=["sdxl", "flux", "wan", "pixart"])
def report(request):
    return run_in_comfyui("attention_maps_recorder_runner.py", request.param)


@pytest.mark.parametrize("model", ["dense_model", "pladis_model"])
def test_sampled_latent_is_bit_identical_with_the_recorder(report, model):
    assert report[f"{model}_bit_identical"]


@pytest.mark.parametrize("model", ["dense_model", "pladis_model"])
def test_recorded_maps_equal_the_float64_formula(report, model):
    assert report[f"{model}_recorded_calls"] == report[f"{model}_spied_calls"] > 0, report[f"{model}_skipped"]
    assert report[f"{model}_max_error"] < 1e-5


def test_lambda_zero_gives_identical_dense_and_pladis_maps(report):
    assert report["lambda0_identical"] and report["lambda0_sparse_differs"]
