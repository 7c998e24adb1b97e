"""PLADIS for ComfyUI: sparse-attention extrapolation in cross-attention (Kim & Sim, ICCV 2025).

ComfyUI loads this package and awaits ``comfy_entrypoint()`` for the V3 extension; the nodes (and ComfyUI's
node API with them) are imported only then.
"""

WEB_DIRECTORY = "./web"


async def comfy_entrypoint():
    from .nodes import PladisExtension

    return PladisExtension()


__all__ = ["WEB_DIRECTORY", "comfy_entrypoint"]
