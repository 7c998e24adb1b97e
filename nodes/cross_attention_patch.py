"""The attn2 replacement ComfyUI calls at each patched UNet cross-attention: (q, k, v, extra_options) -> out."""

from __future__ import annotations

from typing import Any

import torch

from ..pladis_core import pladis_attention
from . import comfy_bridge
from .step_range import SigmaRange

PLACEMENT_HINT = (
    "Place PLADIS Model Patch after IPAdapter, InstantID, PuLID and other nodes that replace cross-attention, "
    "so that it can keep their effect."
)


class PladisCrossAttention:
    """PLADIS in place of softmax attention, inside the step range; ComfyUI's own attention outside it.

    If another node had already replaced this cross-attention (IPAdapter, InstantID, PuLID, …), its output is
    kept and the PLADIS correction λ·(entmax − softmax)·V is added to it.
    """

    def __init__(self, alpha: float, scale: float, step_range: SigmaRange, previous: Any = None) -> None:
        self.alpha = alpha
        self.scale = scale
        self.step_range = step_range
        self.previous = previous

    def __call__(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, extra_options: dict, **kwargs: Any
    ) -> torch.Tensor:
        if torch.compiler.is_compiling():
            return self.patched(q, k, v, extra_options, self.step_range.inside(extra_options))
        if not self.step_range.contains(extra_options):
            return self.unpatched(q, k, v, extra_options)
        return self.patched(q, k, v, extra_options)

    def patched(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, extra_options: dict, inside: torch.Tensor | None = None
    ) -> torch.Tensor:
        """PLADIS; with ``inside`` (a bool tensor, compiled code) it is chosen at run time over the unpatched
        attention, both being computed."""
        heads = extra_options["n_heads"]
        if self.previous is None:
            out = pladis_attention(q, k, v, heads, self.alpha, self.scale)
            if inside is None:
                return out
            return torch.where(inside, out, self.unpatched(q, k, v, extra_options))
        out = self.previous(q, k, v, extra_options)
        correction = pladis_attention(q, k, v, heads, self.alpha, self.scale, include_dense=False).to(out.dtype)
        return out + (correction if inside is None else torch.where(inside, correction, 0.0))

    def unpatched(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, extra_options: dict) -> torch.Tensor:
        if self.previous is not None:
            return self.previous(q, k, v, extra_options)
        return comfy_bridge.optimized_attention(q, k, v, extra_options)

    def wrapping(self, previous: Any) -> PladisCrossAttention:
        """The same patch on top of ``previous``."""
        return PladisCrossAttention(self.alpha, self.scale, self.step_range, previous)

    # ComfyUI moves and loads the patches it finds in model_options; the one wrapped here is hidden from it.
    def to(self, device: Any) -> PladisCrossAttention:
        if self.previous is None or not hasattr(self.previous, "to"):
            return self
        moved = self.previous.to(device)
        return self if moved is self.previous else self.wrapping(moved)

    def models(self) -> list:
        return list(self.previous.models()) if hasattr(self.previous, "models") else []

    def add(self, *args: Any, **kwargs: Any) -> None:
        """IPAdapter-style nodes call ``.add`` on whatever already sits at a cross-attention key."""
        raise RuntimeError(
            "Another node tried to add its cross-attention patch on top of PLADIS Model Patch. " + PLACEMENT_HINT
        )
