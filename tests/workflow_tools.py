"""Reading, checking and converting ComfyUI UI-format workflows against node schemas (/object_info format).

The widget rules follow ComfyUI's front end: every input whose type has a widget (INT, FLOAT, STRING, BOOLEAN,
COMBO) and that is not linked takes the next value of ``widgets_values`` in the schema's input order (required,
then optional); an input with ``control_after_generate`` is followed by its control value ("fixed",
"randomize", …); an ``image_upload`` combo is followed by the upload button's value; a dynamic combo (v0.33's
``COMFY_DYNAMICCOMBO_V3``) is followed by the widgets of the option its value selects, which the API prompt names
``<combo>.<input>`` (an input marked ``hidden`` still has its widget, only not shown).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / "example_workflows"
SCHEMAS = ROOT / "tests" / "workflows" / "node_schemas.json"

FRONTEND_ONLY_TYPES = frozenset({"Note", "MarkdownNote", "Reroute", "PrimitiveNode"})
DYNAMIC_COMBO = "COMFY_DYNAMICCOMBO_V3"
WIDGET_TYPES = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO", DYNAMIC_COMBO})
CONTROL_VALUES = frozenset({"fixed", "increment", "decrement", "randomize"})
# The loader nodes the workflows use and the models folder each reads its files from (ComfyUI's folder_paths names,
# which the front end's missing-models list calls a model's "directory").
LOADER_FOLDERS = {
    "CheckpointLoaderSimple": "checkpoints",
    "UNETLoader": "diffusion_models",
    "CLIPLoader": "text_encoders",
    "DualCLIPLoader": "text_encoders",
    "VAELoader": "vae",
    "ControlNetLoader": "controlnet",
}


def load_workflows() -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(WORKFLOWS.glob("*.json"))}


def load_schemas(path: Path = SCHEMAS) -> dict[str, Any]:
    return json.loads(path.read_text())["nodes"]


def input_specs(schema: dict) -> list[tuple[str, str, dict, list | None]]:
    """(name, type, options, combo values) for every input of a node schema, required then optional."""
    specs = []
    order = schema.get("input_order") or {section: list(names) for section, names in schema["input"].items()}
    for section in ("required", "optional"):
        for name in order.get(section, []):
            spec = schema["input"][section][name]
            kind, options = spec[0], spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
            if isinstance(kind, list):
                specs.append((name, "COMBO", options, kind))
            elif kind == "COMBO":
                specs.append((name, "COMBO", options, options.get("options", [])))
            elif kind == DYNAMIC_COMBO:
                specs.append((name, DYNAMIC_COMBO, options, [option["key"] for option in options["options"]]))
            else:
                specs.append((name, kind, options, None))
    return specs


WidgetInput = tuple[str, str, dict, list | None, int]


def widget_inputs(schema: dict, linked: set[str], values: list | None = None) -> list[WidgetInput]:
    """The widget inputs in widgets_values order, each with how many extra front-end values follow it. A dynamic
    combo is followed by the widgets of the option that its value in ``values`` selects."""
    widgets = []
    values = values or []

    def walk(inputs: dict, prefix: str, position: int) -> int:
        for name, kind, options, combo in input_specs(inputs):
            name = prefix + name
            if kind not in WIDGET_TYPES or options.get("forceInput") or name in linked:
                continue
            extra = int(bool(options.get("control_after_generate"))) + int(bool(options.get("image_upload")))
            widgets.append((name, kind, options, combo, extra))
            value = values[position] if position < len(values) else None
            position += 1 + extra
            if kind == DYNAMIC_COMBO:
                selected = next((o for o in options["options"] if o["key"] == value), None)
                if selected is not None:
                    position = walk({"input": selected["inputs"]}, name + ".", position)
        return position

    walk(schema, "", 0)
    return widgets


def widget_values(node: dict, schema: dict) -> dict[str, Any]:
    """Maps a UI node's widgets_values to its widget inputs by name."""
    linked = {i["name"] for i in node.get("inputs", []) if i.get("link") is not None}
    values = list(node.get("widgets_values") or [])
    mapped, position = {}, 0
    for name, _, _, _, extra in widget_inputs(schema, linked, values):
        if position >= len(values):
            break
        mapped[name] = values[position]
        position += 1 + extra
    return mapped


def check_widget_value(name: str, kind: str, options: dict, values: list | None, value: Any) -> str | None:
    if kind in ("COMBO", DYNAMIC_COMBO):
        return None if value in values else f"{name}={value!r} is not one of {values}"
    if kind in ("INT", "FLOAT"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{name}={value!r} is not a number"
        if kind == "INT" and value != int(value):
            return f"{name}={value!r} is not an integer"
        if "min" in options and value < options["min"] or "max" in options and value > options["max"]:
            return f"{name}={value!r} is outside [{options.get('min')}, {options.get('max')}]"
        return None
    if kind == "STRING":
        return None if isinstance(value, str) else f"{name}={value!r} is not a string"
    if kind == "BOOLEAN":
        return None if isinstance(value, bool) else f"{name}={value!r} is not a boolean"
    return None


def validate_workflow(workflow: dict, schemas: dict, *, extra_values_ok: bool = False) -> list[str]:
    """Every problem found: unknown node types, widget values invalid for their inputs, links between
    mismatched types, required inputs left unconnected, widgets_values of the wrong length.

    ``extra_values_ok``: values beyond a node's widgets are not a problem. They are what a workflow saved by a
    newer ComfyUI holds for inputs an older one lacks (its front end leaves them unused)."""
    problems = []
    nodes = {node["id"]: node for node in workflow["nodes"]}
    for node in workflow["nodes"]:
        where = f"node {node['id']} ({node['type']})"
        if node["type"] in FRONTEND_ONLY_TYPES:
            continue
        schema = schemas.get(node["type"])
        if schema is None:
            problems.append(f"{where}: unknown node type")
            continue
        linked = {i["name"] for i in node.get("inputs", []) if i.get("link") is not None}
        widgets = widget_inputs(schema, linked, list(node.get("widgets_values") or []))
        expected_length = sum(1 + extra for *_, extra in widgets)
        length = len(node.get("widgets_values") or [])
        if length < expected_length or length > expected_length and not extra_values_ok:
            problems.append(f"{where}: {length} widget values, expected {expected_length}")
        values = widget_values(node, schema)
        for name, kind, options, combo, _ in widgets:
            if name in values:
                problem = check_widget_value(name, kind, options, combo, values[name])
                if problem:
                    problems.append(f"{where}: {problem}")
        for name, kind, _, _ in input_specs(schema):
            required = name in schema["input"].get("required", {})
            if required and kind not in WIDGET_TYPES and name not in linked:
                problems.append(f"{where}: required input {name} ({kind}) is not connected")
    for link in workflow["links"]:
        link_id, source, source_slot, target, target_slot, kind = link[:6]
        if source not in nodes or target not in nodes:
            problems.append(f"link {link_id}: joins a missing node")
            continue
        source_schema, target_node = schemas.get(nodes[source]["type"]), nodes[target]
        output_type = source_schema["output"][source_slot] if source_schema else None
        target_input = target_node["inputs"][target_slot] if target_slot < len(target_node.get("inputs", [])) else None
        if target_input is None or target_input.get("link") != link_id:
            problems.append(f"link {link_id}: target input slot {target_slot} does not point back to it")
            continue
        target_schema = schemas.get(target_node["type"])
        target_types = {n: k for n, k, _, _ in input_specs(target_schema)} if target_schema else {}
        expected = target_types.get(target_input["name"])
        if source_schema and output_type != kind:
            problems.append(
                f"link {link_id}: {nodes[source]['type']} output {source_slot} is {output_type}, not {kind}"
            )
        if target_schema and expected != kind:
            problems.append(
                f"link {link_id}: {target_node['type']}.{target_input['name']} takes {expected}, not {kind}"
            )
        if link_id not in (nodes[source]["outputs"][source_slot].get("links") or []):
            problems.append(f"link {link_id}: source output slot {source_slot} does not list it")
    return problems


def to_api_prompt(workflow: dict, schemas: dict) -> dict[str, dict]:
    """The API-format prompt (what the front end's graphToPrompt sends) for a UI-format workflow."""
    links = {link[0]: link for link in workflow["links"]}
    prompt = {}
    for node in workflow["nodes"]:
        if node["type"] in FRONTEND_ONLY_TYPES or node.get("mode", 0) in (2, 4):
            continue
        inputs = dict(widget_values(node, schemas[node["type"]]))
        for slot in node.get("inputs", []):
            if slot.get("link") is not None:
                _, source, source_slot = links[slot["link"]][:3]
                inputs[slot["name"]] = [str(source), source_slot]
        prompt[str(node["id"])] = {"class_type": node["type"], "inputs": inputs}
    return prompt
