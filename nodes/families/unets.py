"""UNet models (SD1.5, SD2.x, SDXL and its distilled variants): one record, as the UNet route finds their
cross-attentions by structure."""

from __future__ import annotations

from dataclasses import dataclass

from .attention_kind import CROSS, AttentionKind
from .record import Described


@dataclass(frozen=True, kw_only=True)
class UnetFamily(Described):
    """UNets whose spatial transformers have a text cross-attention (attn2): found by walking the model's
    blocks, whatever its class."""

    attention: AttentionKind = CROSS


UNET = UnetFamily(name="UNet")
