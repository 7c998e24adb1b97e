"""The DiT families PLADIS knows, one description each (see ``base.DitFamily``), and how a model is matched.

A diffusion model matches a family when its class is one the family lists (the class and its known variants)
and it passes the family's structural check. A subclass of a listed class that is not listed itself is refused:
its layout was not verified. Adding a family: one description in a module here, added to ``registry.DITS``, its
entry in ``catalog.json`` (classes, parts, text keys, supported-families words, compatibility rows), the docs
regenerated (``python scripts/build_docs.py``), and one integration test (tests/integration/comfyui_family_runner.py).
"""

from __future__ import annotations

from typing import Any

from . import registry
from .base import CROSS, JOINT, DitFamily, ModelCall, TokenLayout, class_names, image_token_count
from .refused import REFUSED, family_refusal

__all__ = [
    "BY_CLASS",
    "CROSS",
    "FAMILIES",
    "JOINT",
    "SUPPORTED",
    "DitFamily",
    "ModelCall",
    "TokenLayout",
    "family_of",
    "family_refusal",
    "image_token_count",
    "refusal",
]

FAMILIES = registry.DITS
SUPPORTED = ", ".join(family.supported_as for family in FAMILIES)
BY_CLASS = {name: family for family in FAMILIES for name in family.classes}


def family_of(diffusion_model: Any) -> DitFamily | None:
    family = BY_CLASS.get(type(diffusion_model).__name__)
    if family is None or any(family.blocks(diffusion_model, attribute) is None for _, attribute in family.parts):
        return None
    return family if family.accepts(diffusion_model) else None


def refusal(diffusion_model: Any) -> str:
    """Why a diffusion model that matches no family is refused, for the error message."""
    name = type(diffusion_model).__name__
    if name in REFUSED:
        return REFUSED[name]
    for base in class_names(diffusion_model)[1:]:
        if base in BY_CLASS:
            return (
                f"{name} is a variant of {base} ({BY_CLASS[base].name}) whose token layout PLADIS has not been "
                "verified, so it is not assumed to fit"
            )
    if name in BY_CLASS:
        return f"{name} does not have the blocks {BY_CLASS[name].name} has"
    return "it has no UNet cross-attention and is not a DiT PLADIS knows"
