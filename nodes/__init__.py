"""ComfyUI glue: the V3 extension and its nodes."""

from __future__ import annotations

from comfy_api.latest import ComfyExtension, io

from .attention_maps.nodes import PLADISAttentionMaps, PLADISAttentionMapsRecord
from .model_patch import PLADISModelPatch


class PladisExtension(ComfyExtension):
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return [PLADISModelPatch, PLADISAttentionMapsRecord, PLADISAttentionMaps]


__all__ = ["PLADISAttentionMaps", "PLADISAttentionMapsRecord", "PLADISModelPatch", "PladisExtension"]
