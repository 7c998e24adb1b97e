"""ComfyUI glue: the V3 extension and its node."""

from __future__ import annotations

from comfy_api.latest import ComfyExtension, io

from .model_patch import PLADISModelPatch


class PladisExtension(ComfyExtension):
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return [PLADISModelPatch]


__all__ = ["PLADISModelPatch", "PladisExtension"]
