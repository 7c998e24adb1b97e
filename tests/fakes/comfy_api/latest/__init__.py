"""Stand-in for ``comfy_api.latest``: the V3 node API (``io``) and ``ComfyExtension``."""

from abc import ABC, abstractmethod

from . import io


class ComfyExtension(ABC):
    async def on_load(self) -> None:
        return None

    @abstractmethod
    async def get_node_list(self) -> list[type[io.ComfyNode]]: ...


__all__ = ["ComfyExtension", "io"]
