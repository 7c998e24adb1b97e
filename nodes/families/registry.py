"""The one registry of the families PLADIS knows: every family record, listed once, by route.

Everything users read about which models PLADIS supports is derived from these records and their entries in
``catalog.json`` (see ``record``): the supported-families text of the node's error and help page and the
compatibility table (docs/compatibility.md, by scripts/build_docs.py); unit tests check the refusal reasons and
the web presets' labels against them.
Like the records, this module imports no ComfyUI.
"""

from __future__ import annotations

from .aura import AURAFLOW
from .base import DitFamily
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
from .not_patched import AUDIO, CAUSAL_WAN, IMAGE_TO_3D, NOT_GENERATORS, SEEDVR2, STABLE_CASCADE_B, SVD, RefusedFamily
from .object_patched import ERNIE_IMAGE, HUNYUAN_DIT, PIXART, ObjectPatchedFamily
from .omnigen2 import OMNIGEN2
from .pixeldit import PIXELDIT
from .qwen import QWEN_IMAGE
from .record import COMPOSITION_ENTRY, CompatibilityRow, catalog_rows
from .sd3 import SD3
from .unets import UNET, UnetFamily
from .wan import WAN

UNETS: tuple[UnetFamily, ...] = (UNET,)  # the UNet route: attn2 replacements
# The DiT route: ComfyUI's attention override.
DITS: tuple[DitFamily, ...] = (
    FLUX,
    CHROMA,
    SD3,
    QWEN_IMAGE,
    WAN,
    HUNYUAN_VIDEO,
    LUMINA,
    COSMOS_PREDICT1,
    COSMOS_PREDICT2,
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
# The object-patch route: DiTs whose attention ComfyUI calls without transformer_options.
OBJECT_PATCHED: tuple[ObjectPatchedFamily, ...] = (PIXART, HUNYUAN_DIT, ERNIE_IMAGE)
NOT_PATCHED: tuple[RefusedFamily, ...] = (
    SVD,
    CAUSAL_WAN,
    STABLE_CASCADE_B,
    SEEDVR2,
    AUDIO,
    IMAGE_TO_3D,
    NOT_GENERATORS,
)


def supported_by_route() -> tuple[str, str, str]:
    """What each route patches: the UNets, the DiTs (attention override), the object-patched DiTs."""
    objects = ", ".join(family.supported_as for family in OBJECT_PATCHED)
    return (
        ", ".join(family.supported_as for family in UNETS),
        ", ".join(family.supported_as for family in DITS),
        f"{objects} (through object patches)",
    )


def supported_text() -> str:
    """What PLADIS patches, route by route, as the node's error lists it."""
    return "; ".join(supported_by_route())


COMPOSITION = catalog_rows(COMPOSITION_ENTRY)
# The web presets (web/pladis.js) for any family; every other preset is named by the rows of the families it suits.
GENERAL_PRESETS = ("Sparser: sparsemax (α 2, λ 2)", "Gentle (λ 1, e.g. tag-based anime SDXL)")
# The compatibility table's sections: a title and the rows of its records, in registry order.
SECTIONS: tuple[tuple[str, tuple[CompatibilityRow, ...]], ...] = (
    ("UNets (attn2 replacements)", tuple(row for family in UNETS for row in family.rows)),
    ("DiTs (the attention override)", tuple(row for family in DITS for row in family.rows)),
    ("DiTs through object patches", tuple(row for family in OBJECT_PATCHED for row in family.rows)),
    ("Not patched, on purpose", tuple(row for family in NOT_PATCHED for row in family.rows)),
    ("With other nodes", COMPOSITION),
)
