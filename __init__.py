"""PLADIS for ComfyUI: sparse-attention extrapolation in cross-attention (Kim & Sim, ICCV 2025)."""

from .nodes import comfy_entrypoint

WEB_DIRECTORY = "./web"

__all__ = ["WEB_DIRECTORY", "comfy_entrypoint"]
