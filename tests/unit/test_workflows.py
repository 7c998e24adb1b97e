"""Every shipped example workflow against the node schemas recorded from ComfyUI (tests/workflows/node_schemas.json).

Regenerate the schemas with scripts/record_node_schemas.py when a workflow starts using another node type.
"""

import copy

import pytest
from pack import NODE_INPUTS
from workflow_tools import SCHEMAS, load_schemas, load_workflows, to_api_prompt, validate_workflow

WORKFLOWS = load_workflows()
NODES = load_schemas()


def test_the_promised_workflows_are_shipped():
    names = " | ".join(WORKFLOWS)
    for expected in ("SDXL on vs off", "SDXL-Lightning 4 steps CFG 1", "Flux dev", "Flux schnell", "PAG", "ControlNet"):
        assert expected in names
    assert SCHEMAS.exists()


@pytest.mark.parametrize("name", WORKFLOWS)
def test_workflow_matches_the_node_schemas(name):
    assert validate_workflow(WORKFLOWS[name], NODES) == []


@pytest.mark.parametrize("name", WORKFLOWS)
def test_workflow_uses_pladis_and_explains_its_settings(name):
    workflow = WORKFLOWS[name]
    assert workflow["version"] == 0.4 and workflow["last_node_id"] == max(n["id"] for n in workflow["nodes"])
    types = [node["type"] for node in workflow["nodes"]]
    assert types.count("PLADISModelPatch") == 1 and "Note" in types
    note = next(n for n in workflow["nodes"] if n["type"] == "Note")["widgets_values"][0]
    assert "scale" in note and "alpha" in note
    prompt = to_api_prompt(workflow, NODES)
    pladis = next(node for node in prompt.values() if node["class_type"] == "PLADISModelPatch")
    assert set(pladis["inputs"]) == set(NODE_INPUTS)
    assert all(node["class_type"] != "Note" for node in prompt.values())


def test_ab_comparison_shares_the_seed_and_differs_by_pladis_only():
    workflow = next(w for n, w in WORKFLOWS.items() if "on vs off" in n)
    prompt = to_api_prompt(workflow, NODES)
    samplers = [node for node in prompt.values() if node["class_type"] == "KSampler"]
    assert len(samplers) == 2
    first, second = (dict(s["inputs"]) for s in samplers)
    models = {first.pop("model")[0], second.pop("model")[0]}
    assert first == second
    assert {prompt[m]["class_type"] for m in models} == {"CheckpointLoaderSimple", "PLADISModelPatch"}


def test_distilled_and_flux_workflows_run_at_cfg_1():
    for name, workflow in WORKFLOWS.items():
        if "Lightning" in name or "Flux" in name:
            sampler = next(n for n in to_api_prompt(workflow, NODES).values() if n["class_type"] == "KSampler")
            assert sampler["inputs"]["cfg"] == 1.0
            assert sampler["inputs"]["steps"] == (20 if "dev" in name else 4)


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda w: w["nodes"].append({**w["nodes"][0], "id": 99, "type": "NoSuchNode"}), "unknown node type"),
        (lambda w: _node(w, "KSampler")["widgets_values"].__setitem__(4, "no_such_sampler"), "sampler_name"),
        (lambda w: _node(w, "KSampler")["widgets_values"].__setitem__(2, 0), "steps=0 is outside"),
        (lambda w: _node(w, "PLADISModelPatch")["widgets_values"].__setitem__(0, 3.0), "alpha=3.0 is outside"),
        (lambda w: _node(w, "PLADISModelPatch")["widgets_values"].pop(), "5 widget values, expected 6"),
        (lambda w: w["links"][0].__setitem__(5, "LATENT"), "not LATENT"),
        (lambda w: _node(w, "VAEDecode")["inputs"][0].__setitem__("link", None), "not connected"),
    ],
)
def test_the_validation_catches_broken_workflows(breakage, message):
    workflow = copy.deepcopy(WORKFLOWS[next(iter(WORKFLOWS))])
    breakage(workflow)
    assert any(message in problem for problem in validate_workflow(workflow, NODES))


def _node(workflow, kind):
    return next(node for node in workflow["nodes"] if node["type"] == kind)


@pytest.mark.parametrize("name", WORKFLOWS)
def test_each_workflow_has_a_jpeg_thumbnail(name):
    from workflow_tools import WORKFLOWS as FOLDER

    thumbnail = FOLDER / f"{name}.jpg"
    assert thumbnail.read_bytes()[:3] == b"\xff\xd8\xff"
