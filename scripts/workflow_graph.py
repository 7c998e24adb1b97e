"""Graph-building primitives for the example workflows: nodes (inputs and outputs from the recorded node schemas),
links, notes, and the layout of the nodes in labelled, coloured stage groups.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from workflow_models import MODEL_LINKS  # noqa: E402
from workflow_tools import LOADER_FOLDERS, WIDGET_TYPES, input_specs, load_schemas  # noqa: E402

SCHEMAS = load_schemas()

# LiteGraph's group colours (the front end's colour menu): one per stage.
STAGE_COLORS = {
    "Models": "#3f789e",
    "Prompts": "#8A8",
    "ControlNet": "#b06634",
    "PLADIS": "#a1309b",
    "Sampling": "#b58b2a",
    "Output": "#88A",
}
NOTE_COLORS = ("#222", "#000")  # the official templates' MarkdownNote colours
TITLE_HEIGHT, GROUP_HEADER, PADDING, NODE_GAP, COLUMN_GAP = 30, 50, 20, 30, 60


def note_height(text: str, width: int) -> int:
    """Enough height for the text at the front end's note font (about 7.5 px a character, 20 px a line)."""
    per_line = max(1, int((width - 20) / 7.5))
    shown = re.sub(r"\]\([^)]*\)", "]", text)  # a markdown link shows its text, not its URL
    lines = sum(1 + len(line) // per_line for line in shown.splitlines())
    return 40 + 20 * lines


class Graph:
    """A UI-format workflow being built: nodes, links, and the stages (groups) they are laid out in."""

    def __init__(self, *link_sources: str) -> None:
        self.nodes: list[dict] = []
        self.links: list[list] = []
        self.groups: list[dict] = []
        self.link_sources = link_sources

    def add(self, kind: str, widgets: list | None = None, size=None, title=None) -> dict:
        node = {
            "id": len(self.nodes) + 1,
            "type": kind,
            "pos": [0, 0],
            "size": list(size or (320, 120)),
            "flags": {},
            "order": 0,
            "mode": 0,
            "inputs": [],
            "outputs": [],
            "properties": {"Node name for S&R": kind},
            "widgets_values": list(widgets or []),
        }
        if title:
            node["title"] = title
        if kind in LOADER_FOLDERS:
            node["properties"]["models"] = [self.model_entry(v) for v in node["widgets_values"] if is_model_file(v)]
        if kind in SCHEMAS:
            schema = SCHEMAS[kind]
            for name, input_type, _, _ in input_specs(schema):
                if input_type not in WIDGET_TYPES:
                    node["inputs"].append({"name": name, "type": input_type, "link": None})
            names = schema.get("output_name") or schema["output"]
            for slot, (name, output_type) in enumerate(zip(names, schema["output"], strict=True)):
                node["outputs"].append({"name": name, "type": output_type, "links": [], "slot_index": slot})
        self.nodes.append(node)
        return node

    def model_entry(self, name: str) -> dict:
        """The properties.models entry for a file, from the first of this workflow's link sources that has it."""
        for source in self.link_sources:
            if name in MODEL_LINKS[source]:
                directory, url = MODEL_LINKS[source][name]
                return {"name": name, "url": url, "directory": directory}
        raise KeyError(f"{name}: no download link in {self.link_sources}")

    def models(self) -> list[dict]:
        """Every model file the workflow loads, in node order, once each."""
        entries = [entry for node in self.nodes for entry in node["properties"].get("models", [])]
        return list({entry["name"]: entry for entry in entries}.values())

    def note(self, text: str, width: int = 440) -> dict:
        node = self.add("MarkdownNote", [text], size=(width, note_height(text, width)))
        node["color"], node["bgcolor"] = NOTE_COLORS
        return node

    def models_note(self) -> dict:
        """Which file goes into which folder, with the links the loaders carry, as the official templates' notes."""
        by_folder: dict[str, list[dict]] = {}
        for entry in self.models():
            by_folder.setdefault(entry["directory"], []).append(entry)
        lines = ["## Model files", "", "Put each file in `ComfyUI/models/<folder>/`:", ""]
        for folder, entries in by_folder.items():
            lines += [f"**{folder}**", ""] + [f"- [{e['name']}]({e['url']})" for e in entries] + [""]
        sources = [s for s in self.link_sources if s.endswith(".json")]
        others = [s for s in self.link_sources if not s.endswith(".json")]
        if sources:
            lines.append(f"Links as in ComfyUI's official template {', '.join(sources)}.")
        if others:
            lines.append(f"Not in an official template: {', '.join(others)} on Hugging Face, the model's own page.")
        lines += ["", "A missing file shows in ComfyUI's missing-models list with a **Download** button."]
        return self.note("\n".join(lines))

    def connect(self, source: dict, output: str, target: dict, input_name: str) -> None:
        slot = next(i for i, o in enumerate(source["outputs"]) if o["name"] == output)
        target_slot = next(i for i, x in enumerate(target["inputs"]) if x["name"] == input_name)
        link_id = len(self.links) + 1
        kind = source["outputs"][slot]["type"]
        self.links.append([link_id, source["id"], slot, target["id"], target_slot, kind])
        source["outputs"][slot]["links"].append(link_id)
        target["inputs"][target_slot]["link"] = link_id

    def layout(self, stages: list[tuple[str, list[dict]]]) -> None:
        """One column per stage, left to right, its nodes stacked top to bottom inside a labelled group."""
        x = 0
        for number, (stage, nodes) in enumerate(stages, start=1):
            width = max(node["size"][0] for node in nodes)
            y = GROUP_HEADER + TITLE_HEIGHT
            for node in nodes:
                node["pos"] = [x + PADDING, y]
                y += node["size"][1] + TITLE_HEIGHT + NODE_GAP
            bounding = [x, 0, width + 2 * PADDING, y - NODE_GAP - TITLE_HEIGHT + PADDING]
            self.groups.append(
                {
                    "id": number,
                    "title": f"Step {number} - {stage}",
                    "bounding": bounding,
                    "color": STAGE_COLORS[stage],
                    "font_size": 24,
                    "flags": {},
                }
            )
            x += width + 2 * PADDING + COLUMN_GAP
        placed = {id(node) for _, nodes in stages for node in nodes}
        missing = [node["type"] for node in self.nodes if id(node) not in placed]
        assert not missing, f"nodes in no stage: {missing}"

    def staged(self, models, prompts, pladis, sampling, output, controlnet=None) -> dict:
        """The workflow, its nodes laid out in the usual stages (the models stage ends with the model-files note)."""
        stages = [("Models", [*models, self.models_note()]), ("Prompts", prompts)]
        if controlnet:
            stages.append(("ControlNet", controlnet))
        self.layout([*stages, ("PLADIS", pladis), ("Sampling", sampling), ("Output", output)])
        return self.to_workflow()

    def to_workflow(self) -> dict:
        self._order()
        return {
            "last_node_id": len(self.nodes),
            "last_link_id": len(self.links),
            "nodes": self.nodes,
            "links": self.links,
            "groups": self.groups,
            "config": {},
            "extra": {"ds": {"scale": 0.6, "offset": [40, 40]}},
            "version": 0.4,
        }

    def _order(self) -> None:
        """Execution order as the front end stores it: a topological order of the linked nodes."""
        incoming = {n["id"]: {link[1] for link in self.links if link[3] == n["id"]} for n in self.nodes}
        done: list[int] = []
        while len(done) < len(self.nodes):
            ready = [i for i, deps in incoming.items() if i not in done and deps <= set(done)]
            done.extend(sorted(ready))
        for node in self.nodes:
            node["order"] = done.index(node["id"])


def is_model_file(value) -> bool:
    return isinstance(value, str) and value.endswith(".safetensors")
