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


def test_the_nodes_draw_the_grid_after_a_real_sampling_run(report):
    if report["kind"] != "sdxl":
        pytest.skip("the node path runs on the SDXL-shaped model with ComfyUI's SDXL tokenizer")
    assert report["node_words"] == ["cat", "red hat"] and len(report["node_word_keys"][1]) == 2
    assert report["node_grid_shape"][0] == 1 and report["node_grid_shape"][-1] == 3
    assert report["node_masks_shape"] == [2, 128, 128]
