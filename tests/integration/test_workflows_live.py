"""The example workflows through a live ComfyUI's /prompt validation (opt-in: COMFYUI_PATH).

The server gets placeholder model files with the names the workflows use, so its validation sees them; the
prompts are queued (validation is part of queueing) and the queue is cleared right after.
"""

import tempfile
from pathlib import Path

import pytest
from comfyui import COMFYUI_PATH, comfyui_python, requires_comfyui
from comfyui_server import comfyui_server, get_json, post_json
from workflow_tools import load_workflows, to_api_prompt, validate_workflow

pytestmark = requires_comfyui
WORKFLOWS = load_workflows()


@pytest.fixture(scope="module")
def server():
    with tempfile.TemporaryDirectory() as base, comfyui_server(COMFYUI_PATH, comfyui_python(), Path(base)) as url:
        yield url, get_json(url + "/object_info")


@pytest.mark.parametrize("name", WORKFLOWS)
def test_workflow_passes_the_live_schemas_and_prompt_validation(server, name):
    url, object_info = server
    assert validate_workflow(WORKFLOWS[name], object_info) == []
    status, answer = post_json(url + "/prompt", {"prompt": to_api_prompt(WORKFLOWS[name], object_info)})
    post_json(url + "/interrupt", {})
    post_json(url + "/queue", {"clear": True})
    assert status == 200, answer
    assert answer.get("node_errors") == {} and "prompt_id" in answer


def test_the_pack_serves_its_workflows_as_templates(server):
    url, _ = server
    templates = get_json(url + "/api/workflow_templates")
    assert sorted(templates["pladis"]) == sorted(WORKFLOWS)
