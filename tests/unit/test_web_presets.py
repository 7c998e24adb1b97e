"""The web extension's presets: values the node accepts, every family of issue 9 listed, and the example workflows
set as their family's preset says."""

import pytest
from web_presets import load_presets
from workflow_tools import load_schemas, load_workflows, widget_inputs

PRESETS = load_presets()
PLADIS_SCHEMA = load_schemas()["PLADISModelPatch"]
NODE_WIDGETS = {name: options for name, _, options, _, _ in widget_inputs(PLADIS_SCHEMA, set())}
# Each example workflow's family, as its preset names it.
WORKFLOW_PRESETS = {
    "SDXL on vs off": "SD1.5 / SDXL with CFG",
    "SDXL with PAG": "SD1.5 / SDXL with CFG",
    "SDXL with ControlNet": "SD1.5 / SDXL with CFG",
    "SDXL-Lightning": "SDXL Lightning",
    "Flux dev": "Flux dev",
    "Flux schnell": "Flux dev / schnell",
    "Z-Image Turbo": "Z-Image Turbo",
    "Flux.2 Klein": "Flux.2 dev / Klein",
    "Qwen-Image": "Qwen-Image",
    "Wan 2.2": "Wan 2.x",
    "HunyuanVideo 1.5": "HunyuanVideo 1.5",
}


@pytest.mark.parametrize("name", PRESETS)
def test_a_preset_sets_only_node_inputs_within_their_bounds(name):
    preset = PRESETS[name]
    assert set(preset) == {"alpha", "scale", "start_percent", "end_percent"}
    for input_name, value in preset.items():
        options = NODE_WIDGETS[input_name]
        assert options["min"] <= value <= options["max"], (input_name, value)
    assert preset["start_percent"] < preset["end_percent"]


def test_every_family_the_issue_names_has_a_preset():
    names = " | ".join(PRESETS)
    for family in (
        "SDXL", "Lightning", "Flux dev", "Chroma", "Flux.2", "Klein", "Z-Image Turbo", "Qwen-Image", "SD3", "HiDream",
        "Wan 2.x", "HunyuanVideo 1.5", "HunyuanImage 2.1", "LTX-2", "Kandinsky 5", "Mochi", "CogVideoX",
        "MiniMax H3", "Boogu",
    ):  # fmt: skip
        assert family in names, family


def test_families_outside_the_paper_say_so():
    for name, preset in PRESETS.items():
        if any(f in name for f in ("Flux.2", "Z-Image", "Qwen-Image", "Wan", "HunyuanVideo", "Other DiTs")):
            assert "our extension" in name and preset["scale"] == 1.5, name


@pytest.mark.parametrize("workflow_name", load_workflows())
def test_each_example_workflow_uses_its_familys_preset(workflow_name):
    family = next(key for key in sorted(WORKFLOW_PRESETS, key=len, reverse=True) if key in workflow_name)
    preset = next(PRESETS[name] for name in PRESETS if name.startswith(WORKFLOW_PRESETS[family]))
    workflow = load_workflows()[workflow_name]
    for node in (n for n in workflow["nodes"] if n["type"] == "PLADISModelPatch"):
        alpha, scale, start, end = node["widgets_values"][:4]
        assert {"alpha": alpha, "scale": scale, "start_percent": start, "end_percent": end} == preset


def test_the_reader_refuses_a_name_given_twice_and_a_missing_list():
    twice = 'export const PRESETS = {\n  "a": {"alpha": 1.5},\n  "a": {"alpha": 2.0}\n};\n'
    with pytest.raises(ValueError, match="given twice"):
        load_presets(twice)
    with pytest.raises(ValueError, match="no `export const PRESETS"):
        load_presets("export const PRESETS = {a: 1};\n")
