"""Hostile API prompts against a live ComfyUI, each followed by a normal prompt that must run (opt-in: COMFYUI_PATH).

The server gets a tiny SD1.5-structured UNet (tests/integration/make_tiny_unet.py) and two test-only nodes
(tests/integration/server_test_nodes: random conditioning, and a digest of the sampled latent), so that
UNETLoader -> PLADIS Model Patch -> KSampler really samples on CPU. Every wait is bounded (run_prompt).
"""

from __future__ import annotations

import json
import math
import subprocess
import tempfile
from pathlib import Path

import pytest
from comfyui import COMFYUI_PATH, comfyui_python, requires_comfyui
from comfyui_server import comfyui_server, execution_error, run_prompt

pytestmark = requires_comfyui
HERE = Path(__file__).resolve().parent
UNET = "tiny_sd15_unet.safetensors"
PLADIS = dict(alpha=1.5, scale=2.0, start_percent=0.0, end_percent=1.0, layers="default", custom_layers="")


def prompt(label: str, patch: bool = True, **changes) -> dict:
    """UNETLoader -> PLADIS Model Patch (its inputs with ``changes``; left out if not ``patch``) -> KSampler ->
    the latent's digest."""
    graph = {
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": UNET, "weight_dtype": "default"}},
        "2": {"class_type": "PladisTestConditioning", "inputs": {"seed": 1, "tokens": 77}},
        "3": {"class_type": "PladisTestConditioning", "inputs": {"seed": 2, "tokens": 77}},
        "4": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "5": {
            "class_type": "KSampler",
            "inputs": {
                "model": ["1", 0], "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["4", 0], "seed": 3,
                "steps": 2, "cfg": 5.0, "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0,
            },
        },
        "6": {"class_type": "PladisTestLatentDigest", "inputs": {"samples": ["5", 0], "label": label}},
    }  # fmt: skip
    if patch:
        graph["7"] = {"class_type": "PLADISModelPatch", "inputs": {"model": ["1", 0], **{**PLADIS, **changes}}}
        graph["5"]["inputs"]["model"] = ["7", 0]
    return graph


def digest(entry: dict) -> dict:
    assert execution_error(entry) is None, json.dumps(execution_error(entry))[:3000]
    assert entry["status"]["status_str"] == "success"
    return entry["outputs"]["6"]["pladis_test_digest"][0]


@pytest.fixture(scope="module")
def server():
    with tempfile.TemporaryDirectory() as base:
        unet = Path(base, "models", "diffusion_models", UNET)
        unet.parent.mkdir(parents=True)
        subprocess.run([comfyui_python(), str(HERE / "make_tiny_unet.py"), str(unet)], cwd=COMFYUI_PATH, check=True)
        nodes = Path(base, "custom_nodes", "pladis_server_test_nodes")
        nodes.parent.mkdir(parents=True)
        nodes.symlink_to(HERE / "server_test_nodes", target_is_directory=True)
        with comfyui_server(COMFYUI_PATH, comfyui_python(), Path(base)) as url:
            yield url, Path(base, "server.log")


def failing_then_normal(url: str, hostile: dict, label: str) -> dict:
    """Runs ``hostile``, which must end in an execution error, then a normal PLADIS prompt, which must succeed."""
    error = execution_error(run_prompt(url, hostile))
    assert error is not None, "the hostile prompt ran through"
    after = digest(run_prompt(url, prompt(f"after {label}")))
    assert after["finite"]
    return error


def test_a_lone_surrogate_is_a_clear_error_and_the_next_prompt_runs(server):
    url, log = server
    error = failing_then_normal(url, prompt("surrogate", layers="custom", custom_layers="input \ud800"), "surrogate")
    assert error["node_type"] == "PLADISModelPatch"
    assert "layer list entry 'input \\ud800' is not understood" in error["exception_message"]
    assert error["exception_message"].strip().isprintable()
    assert "Logging error" not in log.read_text(errors="replace")


@pytest.mark.parametrize("value", [math.nan, "nan"], ids=["JSON NaN", "string nan"])
def test_scale_nan_is_an_error_naming_scale(server, value):
    url, _ = server
    error = failing_then_normal(url, prompt(f"nan {value!r}", scale=value), "nan")
    assert error["exception_message"].startswith("scale must be a finite number")


def test_a_100_kB_entry_gives_a_message_under_1000_characters(server):
    url, _ = server
    hostile = prompt("100 kB", layers="custom", custom_layers="input " + "x" * 100_000)
    error = failing_then_normal(url, hostile, "100 kB")
    assert len(error["exception_message"]) < 1000 and "is not understood" in error["exception_message"]


def test_a_number_with_5000_digits_is_out_of_range_naming_the_entry(server):
    url, _ = server
    error = failing_then_normal(url, prompt("digits", layers="custom", custom_layers="input 0-" + "9" * 5000), "digits")
    message = error["exception_message"]
    assert len(message) < 1000 and "layer list entry 'input 0-" in message and "out of range" in message


def test_scale_zero_is_bit_identical_to_the_unpatched_model_and_scale_two_is_not(server):
    url, _ = server
    reference = digest(run_prompt(url, prompt("unpatched", patch=False)))
    off = digest(run_prompt(url, prompt("scale 0", scale=0.0)))
    on = digest(run_prompt(url, prompt("scale 2", scale=2.0)))
    assert reference["finite"] and on["finite"]
    assert off["sha256"] == reference["sha256"]
    assert on["sha256"] != reference["sha256"]
