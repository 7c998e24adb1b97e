"""The DiT families PLADIS knows, one description each (see ``base.DitFamily``), and how a model is matched.

A diffusion model matches a family when its class is one the family lists (the class and its known variants)
and it passes the family's structural check. A subclass of a listed class that is not listed itself is refused:
its layout was not verified. Adding a family: one description in a module here, added to ``FAMILIES``, and
one integration test (tests/integration/comfyui_family_runner.py).
"""

from __future__ import annotations

from typing import Any

from .aura import AURAFLOW
from .base import CROSS, JOINT, DitFamily, ModelCall, TokenLayout, class_names, image_token_count
from .boogu import BOOGU
from .cascade import STABLE_CASCADE_C
from .cogvideo import COGVIDEOX
from .cross import ANIMA, COSMOS_PREDICT1, COSMOS_PREDICT2, KANDINSKY5, LTXV
from .flux import CHROMA, FLUX
from .hidream import HIDREAM
from .hidream_o1 import HIDREAM_O1
from .hunyuan import HUNYUAN_VIDEO
from .ideogram import IDEOGRAM4
from .joyimage import JOYIMAGE
from .krea2 import KREA2
from .lens import LENS
from .ltx2 import LTX2
from .lumina import LUMINA
from .mageflow import MAGEFLOW
from .minimax import MINIMAX_H3
from .mochi import MOCHI
from .omnigen2 import OMNIGEN2
from .pixeldit import PIXELDIT
from .qwen import QWEN_IMAGE
from .refused import REFUSED
from .sd3 import SD3
from .wan import WAN

__all__ = [
    "BY_CLASS",
    "SD3",
    "CROSS",
    "FAMILIES",
    "JOINT",
    "SUPPORTED",
    "DitFamily",
    "ModelCall",
    "TokenLayout",
    "family_of",
    "image_token_count",
    "refusal",
]

FAMILIES: tuple[DitFamily, ...] = (
    FLUX,
    CHROMA,
    SD3,
    QWEN_IMAGE,
    WAN,
    HUNYUAN_VIDEO,
    LUMINA,
    COSMOS_PREDICT2,
    COSMOS_PREDICT1,
    ANIMA,
    LTXV,
    HIDREAM,
    KANDINSKY5,
    AURAFLOW,
    COGVIDEOX,
    MAGEFLOW,
    KREA2,
    OMNIGEN2,
    BOOGU,
    JOYIMAGE,
    LENS,
    IDEOGRAM4,
    PIXELDIT,
    HIDREAM_O1,
    STABLE_CASCADE_C,
    MOCHI,
    LTX2,
    MINIMAX_H3,
)
SUPPORTED = (
    "Flux (dev, schnell, Kontext), Flux.2 (dev, Klein), LongCat-Image, Chroma, Chroma Radiance, SD3/SD3.5, "
    "Qwen-Image, Wan 2.x (T2V, I2V, VACE, Camera, HuMo, S2V, Animate, Animate-2, SCAIL, SCAIL-2, WanDancer), "
    "HunyuanVideo, HunyuanVideo 1.5, HunyuanImage 2.1, Lumina 2, Z-Image (Turbo, Omni and pixel space), "
    "Cosmos Predict1, Cosmos Predict2, Anima, LTXV, HiDream I1 and E1, Kandinsky 5 and 5 Image, AuraFlow, CogVideoX, "
    "MageFlow, Krea2, OmniGen2, Boogu-Image, JoyImage, Lens, Ideogram 4, PixelDiT T2I and PiD, "
    "HiDream-O1, Stable Cascade stage C, Mochi, LTX-2 (video; audio as an option), "
    "MiniMax H3 (video rows)"
)
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
