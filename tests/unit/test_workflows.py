"""Every shipped example workflow against the node schemas recorded from ComfyUI (tests/workflows/node_schemas.json).

Regenerate the schemas with scripts/record_node_schemas.py when a workflow starts using another node type.
"""

import copy
from urllib.parse import unquote, urlparse

import pytest
from integration.comfyui_server import PLACEHOLDER_MODELS
from pack import NODE_INPUTS
from workflow_tools import (
    FRONTEND_ONLY_TYPES,
    LOADER_FOLDERS,
    SCHEMAS,
    load_schemas,
    load_workflows,
    to_api_prompt,
    validate_workflow,
)

WORKFLOWS = load_workflows()
NODES = load_schemas()
SAMPLERS = ("KSampler", "KSamplerAdvanced", "CFGGuider", "BasicGuider")
# (steps, cfg) of every sampler, as the official ComfyUI templates for these models run them.
SAMPLING = {
    "SDXL-Lightning 4 steps CFG 1": [(4, 1.0)],
    "Flux dev": [(20, 1.0)],
    "Flux schnell": [(4, 1.0)],
    "Z-Image Turbo 8 steps CFG 1": [(8, 1.0)],
    "Flux.2 Klein 4B 4 steps CFG 1": [(4, 1.0)],
    "Qwen-Image": [(20, 4.0)],
    "Wan 2.2 14B text to video": [(20, 3.5), (20, 3.5)],
    "HunyuanVideo 1.5 720p text to video": [(20, 6.0)],
}
# The nodes each workflow had before its groups and notes were added: the pack's graphs stay this small.
GRAPH_SIZES = {
    "Flux dev": 11, "Flux schnell": 10, "Flux.2 Klein 4B 4 steps CFG 1": 14,
    "HunyuanVideo 1.5 720p text to video": 16, "Qwen-Image": 11, "SDXL on vs off (same seed)": 11,
    "SDXL with ControlNet": 12, "SDXL with PAG": 9, "SDXL-Lightning 4 steps CFG 1": 8,
    "Wan 2.2 14B text to video": 16, "Z-Image Turbo 8 steps CFG 1": 11,
}  # fmt: skip
STAGES = ("Models", "Prompts", "PLADIS", "Sampling", "Output")
# The hosts the front end (1.58) offers a Download for; any other link is listed without one.
DOWNLOAD_HOSTS = ("huggingface.co", "civitai.com")


def test_the_promised_workflows_are_shipped():
    names = " | ".join(WORKFLOWS)
    for expected in (
        "SDXL on vs off", "SDXL-Lightning 4 steps CFG 1", "Flux dev", "Flux schnell", "PAG", "ControlNet",
        "Z-Image Turbo 8 steps CFG 1", "Flux.2 Klein", "Qwen-Image", "Wan 2.2 14B text to video",
        "HunyuanVideo 1.5 720p text to video",
    ):  # fmt: skip
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
    # One PLADIS node per diffusion model: Wan 2.2 14B has two experts.
    assert types.count("PLADISModelPatch") == types.count("UNETLoader") + types.count("CheckpointLoaderSimple")
    notes = [n["widgets_values"][0] for n in workflow["nodes"] if n["type"] == "MarkdownNote"]
    assert any("scale" in note and "alpha" in note for note in notes)
    prompt = to_api_prompt(workflow, NODES)
    for pladis in (node for node in prompt.values() if node["class_type"] == "PLADISModelPatch"):
        assert set(pladis["inputs"]) == set(NODE_INPUTS)
    assert all(node["class_type"] != "Note" for node in prompt.values())


def _model_source_chain(prompt: dict, node_id: str) -> list[str]:
    """The node types a node's model input comes through, nearest first, back to the loader."""
    chain = []
    while "model" in prompt[node_id]["inputs"]:
        node_id = prompt[node_id]["inputs"]["model"][0]
        chain.append(prompt[node_id]["class_type"])
    return chain


@pytest.mark.parametrize("name", WORKFLOWS)
def test_pladis_sits_after_the_loader_and_model_sampling_and_before_the_sampler(name):
    prompt = to_api_prompt(WORKFLOWS[name], NODES)
    samplers = [i for i, node in prompt.items() if node["class_type"] in SAMPLERS]
    chains = [_model_source_chain(prompt, i) for i in samplers]
    with_pladis = [chain for chain in chains if "PLADISModelPatch" in chain]
    # Every sampler runs the patched model, except the plain half of the A/B comparison.
    assert len(with_pladis) == len(chains) - ("on vs off" in name) > 0
    for chain in with_pladis:
        between_pladis_and_sampler = chain[: chain.index("PLADISModelPatch")]
        assert not any(kind.startswith("ModelSampling") for kind in between_pladis_and_sampler), chain
        assert chain[-1] in ("UNETLoader", "CheckpointLoaderSimple")


@pytest.mark.parametrize("name", WORKFLOWS)
def test_the_model_files_a_workflow_names_are_given_to_the_live_server(name):
    for node in WORKFLOWS[name]["nodes"]:
        folder = LOADER_FOLDERS.get(node["type"])
        files = [v for v in node["widgets_values"] if isinstance(v, str) and v.endswith(".safetensors")]
        if folder is None:
            assert files == [], node["type"]
        for file in files:
            assert file in PLACEHOLDER_MODELS[folder], (node["type"], file)


def test_ab_comparison_shares_the_seed_and_differs_by_pladis_only():
    workflow = next(w for n, w in WORKFLOWS.items() if "on vs off" in n)
    prompt = to_api_prompt(workflow, NODES)
    samplers = [node for node in prompt.values() if node["class_type"] == "KSampler"]
    assert len(samplers) == 2
    first, second = (dict(s["inputs"]) for s in samplers)
    models = {first.pop("model")[0], second.pop("model")[0]}
    assert first == second
    assert {prompt[m]["class_type"] for m in models} == {"CheckpointLoaderSimple", "PLADISModelPatch"}


def _steps_and_cfg(prompt: dict) -> list[tuple[int, float]]:
    """(steps, cfg) of every sampler: KSampler / KSamplerAdvanced, or SamplerCustomAdvanced's guider and sigmas."""
    found = []
    for node in prompt.values():
        inputs = node["inputs"]
        if node["class_type"] in ("KSampler", "KSamplerAdvanced"):
            found.append((inputs["steps"], inputs["cfg"]))
        elif node["class_type"] == "SamplerCustomAdvanced":
            guider, sigmas = prompt[inputs["guider"][0]], prompt[inputs["sigmas"][0]]
            cfg = guider["inputs"]["cfg"] if guider["class_type"] == "CFGGuider" else 1.0
            found.append((sigmas["inputs"]["steps"], cfg))
    return found


@pytest.mark.parametrize("name", SAMPLING)
def test_distilled_and_dit_workflows_run_with_the_official_steps_and_cfg(name):
    workflow = next(w for n, w in WORKFLOWS.items() if n == f"PLADIS - {name}")
    assert _steps_and_cfg(to_api_prompt(workflow, NODES)) == SAMPLING[name]


def test_a_dynamic_combo_is_followed_by_the_widgets_of_its_option():
    workflow = next(w for n, w in WORKFLOWS.items() if "Wan 2.2" in n)
    prompt = to_api_prompt(workflow, NODES)
    save = next(node for node in prompt.values() if node["class_type"] == "SaveVideo")
    assert {k: v for k, v in save["inputs"].items() if k != "video"} == {
        "filename_prefix": "video/PLADIS_wan22",
        "format": "auto",
        "format.codec": "auto",
        "codec": "auto",
    }
    broken = copy.deepcopy(workflow)
    _node(broken, "SaveVideo")["widgets_values"][1] = "mp4"  # mp4's codec choice is there too: still valid
    assert validate_workflow(broken, NODES) == []
    _node(broken, "SaveVideo")["widgets_values"][2] = "prores"
    assert any("format.codec='prores' is not one of" in p for p in validate_workflow(broken, NODES))
    _node(broken, "SaveVideo")["widgets_values"][1:] = ["auto", "h264", "auto"]  # h264 adds an encoding widget
    node_id = _node(broken, "SaveVideo")["id"]
    assert validate_workflow(broken, NODES) == [f"node {node_id} (SaveVideo): 4 widget values, expected 5"]


def test_values_for_inputs_an_older_comfyui_lacks_can_be_allowed():
    workflow = copy.deepcopy(next(w for n, w in WORKFLOWS.items() if "Wan 2.2" in n))
    _node(workflow, "CreateVideo")["widgets_values"].append(8)
    node_id = _node(workflow, "CreateVideo")["id"]
    assert validate_workflow(workflow, NODES) == [f"node {node_id} (CreateVideo): 3 widget values, expected 2"]
    assert validate_workflow(workflow, NODES, extra_values_ok=True) == []


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


def _loaders(workflow: dict) -> list[dict]:
    return [node for node in workflow["nodes"] if node["type"] in LOADER_FOLDERS]


def _model_files(node: dict) -> list[str]:
    return [v for v in node["widgets_values"] if isinstance(v, str) and v.endswith(".safetensors")]


@pytest.mark.parametrize("name", WORKFLOWS)
def test_every_loaded_file_has_a_download_link_of_the_same_name(name):
    """The front end's missing-models list reads properties.models of the loader nodes: one entry per file the
    node loads, with the same name, an https URL whose last path segment is that file, and its models folder."""
    loaders = _loaders(WORKFLOWS[name])
    assert loaders
    for node in loaders:
        models = node["properties"]["models"]
        assert [m["name"] for m in models] == _model_files(node), node["type"]
        for model in models:
            url = urlparse(model["url"])
            assert url.scheme == "https" and url.hostname in DOWNLOAD_HOSTS, model
            assert unquote(url.path).rsplit("/", 1)[-1] == model["name"], model
            assert model["directory"] == LOADER_FOLDERS[node["type"]], model


@pytest.mark.parametrize("name", WORKFLOWS)
def test_a_file_name_has_one_link_across_a_workflow(name):
    links = {}
    for node in _loaders(WORKFLOWS[name]):
        for model in node["properties"]["models"]:
            assert links.setdefault(model["name"], model["url"]) == model["url"], model


def _inside(node: dict, group: dict) -> bool:
    x, y, width, height = group["bounding"]
    (left, top), (w, h) = node["pos"], node["size"]
    return x <= left and y <= top - 30 and left + w <= x + width and top + h <= y + height


@pytest.mark.parametrize("name", WORKFLOWS)
def test_nodes_sit_in_labelled_coloured_groups_one_per_stage(name):
    workflow = WORKFLOWS[name]
    groups = workflow["groups"]
    titles = [group["title"] for group in groups]
    assert [stage for stage in STAGES if any(t.endswith(f" - {stage}") for t in titles)] == list(STAGES)
    assert len({group["color"] for group in groups}) == len(groups)
    for node in workflow["nodes"]:
        around = [group["title"] for group in groups if _inside(node, group)]
        assert len(around) == 1, (node["type"], around)
    pladis_group = next(group for group in groups if group["title"].endswith("PLADIS"))
    assert all(_inside(n, pladis_group) for n in workflow["nodes"] if n["type"] == "PLADISModelPatch")
    advice = [
        n["widgets_values"][0] for n in workflow["nodes"] if n["type"] == "MarkdownNote" and _inside(n, pladis_group)
    ]
    assert any("**Try:** scale (λ) " in text for text in advice)


@pytest.mark.parametrize("name", WORKFLOWS)
def test_a_note_names_every_file_and_its_folder(name):
    workflow = WORKFLOWS[name]
    models_group = next(group for group in workflow["groups"] if group["title"].endswith("Models"))
    notes = [
        n["widgets_values"][0] for n in workflow["nodes"] if n["type"] == "MarkdownNote" and _inside(n, models_group)
    ]
    assert len(notes) == 1
    for node in _loaders(workflow):
        for model in node["properties"]["models"]:
            assert f"[{model['name']}]({model['url']})" in notes[0]
            assert f"**{model['directory']}**" in notes[0]


@pytest.mark.parametrize("name", WORKFLOWS)
def test_the_graph_stays_as_small_as_before_the_groups(name):
    workflow = WORKFLOWS[name]
    graph = [node for node in workflow["nodes"] if node["type"] not in FRONTEND_ONLY_TYPES]
    assert len(graph) == GRAPH_SIZES[name.removeprefix("PLADIS - ")]
    assert sum(node["type"] == "MarkdownNote" for node in workflow["nodes"]) == 2
