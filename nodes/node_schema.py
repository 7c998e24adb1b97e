"""What the pack's nodes declare alike: a schema with the fields this ComfyUI accepts, and the α/λ and
step-range inputs that PLADIS Model Patch and PLADIS Attention Maps Record share."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from comfy_api.latest import io


def optional_schema_fields(**fields) -> dict:
    """The fields this ComfyUI's io.Schema accepts (v0.3.64's has no search_aliases; v0.33's has)."""
    accepted = {field.name for field in dataclasses.fields(io.Schema)} if dataclasses.is_dataclass(io.Schema) else set()
    return {name: value for name, value in fields.items() if name in accepted}


@dataclass(frozen=True)
class NodeFace:
    """What a node shows before it is used: its id, name, menu category, description and the words that find it."""

    node_id: str
    display_name: str
    category: str
    description: str
    search_aliases: tuple[str, ...] = ()


def pack_schema(face: NodeFace, *, inputs: list, outputs: list) -> io.Schema:
    """A node schema of this pack; the search aliases only where this ComfyUI's schema has the field."""
    return io.Schema(
        node_id=face.node_id,
        display_name=face.display_name,
        category=face.category,
        description=face.description,
        inputs=inputs,
        outputs=outputs,
        **optional_schema_fields(search_aliases=list(face.search_aliases)),
    )


def strength_input(name: str, default: float, bounds: tuple[float, float], step: float, tooltip: str) -> io.Float.Input:
    """α or λ: a float within the range ``patching`` checks again, rounded to hundredths."""
    return io.Float.Input(name, default=default, min=bounds[0], max=bounds[1], step=step, round=0.01, tooltip=tooltip)


def schedule_input(name: str, default: float, tooltip: str) -> io.Float.Input:
    """Where PLADIS starts or stops, as a fraction of the sampling schedule."""
    return io.Float.Input(name, default=default, min=0.0, max=1.0, step=0.001, tooltip=tooltip)
