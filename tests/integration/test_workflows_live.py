"""The example workflows through a live ComfyUI's /prompt validation (opt-in: COMFYUI_PATH).

The server gets placeholder model files with the names the workflows use, so its validation sees them; the
prompts are queued (validation is part of queueing) and the queue is cleared right after. A workflow that uses
node types this ComfyUI lacks (Flux.2 and HunyuanVideo 1.5 on v0.3.64) is skipped, naming them. On a ComfyUI other
than the one the schemas were recorded from, widget values for inputs that version lacks are allowed: its front
end leaves them unused.
"""

import json
import tempfile
from pathlib import Path

import pytest
from comfyui import COMFYUI_PATH, comfyui_python, requires_comfyui
from comfyui_server import comfyui_server, get_json, post_json
from workflow_tools import FRONTEND_ONLY_TYPES, SCHEMAS, load_workflows, to_api_prompt, validate_workflow

pytestmark = requires_comfyui
WORKFLOWS = load_workflows()


RECORDED_VERSION = json.loads(SCHEMAS.read_text())["comfyui_version"]


@pytest.fixture(scope="module")
def server():
    with tempfile.TemporaryDirectory() as base, comfyui_server(COMFYUI_PATH, comfyui_python(), Path(base)) as url:
        version = get_json(url + "/system_stats")["system"].get("comfyui_version", "unknown")
        yield url, get_json(url + "/object_info"), version


def missing_node_types(workflow: dict, object_info: dict) -> list[str]:
    return sorted({node["type"] for node in workflow["nodes"]} - FRONTEND_ONLY_TYPES - set(object_info))


@pytest.mark.parametrize("name", WORKFLOWS)
def test_workflow_passes_the_live_schemas_and_prompt_validation(server, name):
    url, object_info, version = server
    missing = missing_node_types(WORKFLOWS[name], object_info)
    if missing:
        pytest.skip(f"ComfyUI {version} lacks the node types {', '.join(missing)}")
    extra_values_ok = version != RECORDED_VERSION
    assert validate_workflow(WORKFLOWS[name], object_info, extra_values_ok=extra_values_ok) == []
    status, answer = post_json(url + "/prompt", {"prompt": to_api_prompt(WORKFLOWS[name], object_info)})
    post_json(url + "/interrupt", {})
    post_json(url + "/queue", {"clear": True})
    assert status == 200, answer
    assert answer.get("node_errors") == {} and "prompt_id" in answer


def test_the_pack_serves_its_workflows_as_templates(server):
    url, _, _ = server
    templates = get_json(url + "/api/workflow_templates")
    assert sorted(templates["pladis"]) == sorted(WORKFLOWS)
