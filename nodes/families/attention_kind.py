"""How a family attends to its text, as a type: each kind says which attention calls of a model call are its
text attention, and which of their query rows and key columns PLADIS changes.

- ``JointAttention``: one attention over [… text … image …]: only the image-query × text-key block changes.
- ``CrossAttention``: a separate text cross-attention: every query row changes over the text keys, or only the
  layout's ``image`` rows (``image_rows_only``); where several query streams share one context (``streams``),
  each stream's calls are a part of their own.
- ``SelfAndCrossAttention``: keys = [the queries' own tokens | a context]: every query row changes over the
  context's text keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import TokenLayout


@dataclass(frozen=True)
class Match:
    """A text attention call: ``text`` its text keys, ``image`` the query rows that change, ``part`` the part its
    query stream counts as (None: the family's blocks), ``cross`` all keys are text and all rows change."""

    text: slice
    image: slice
    part: str | None = None
    cross: bool = False


# A cross-attention family's call over as many keys as the text with as many queries: the text cross-attention
# or a self-attention of a video with exactly that many tokens, which the shapes cannot tell apart.
AMBIGUOUS = Match(slice(0, 0), slice(0, 0))


class JointAttention:
    architecture = "joint-attention"
    name = "joint"

    def match(self, q: Any, axis: int, n_key: int, layout: TokenLayout) -> Match | None:
        n_query = q.shape[axis]
        if n_key != n_query or n_query < layout.length:
            return None
        return Match(layout.text, layout.image)


class CrossAttention:
    architecture = "cross-attention"
    name = "cross"

    def match(self, q: Any, axis: int, n_key: int, layout: TokenLayout) -> Match | None:
        n_query = q.shape[axis]
        if n_key != layout.length or n_query < layout.image.stop:
            return None
        if n_query == n_key:
            return AMBIGUOUS
        part = None
        if layout.streams:
            width = q.shape[1] * q.shape[-1] if axis == 2 else q.shape[-1] * (q.shape[2] if q.dim() == 4 else 1)
            stream = next((s for s in layout.streams if s.width == width and n_query >= s.queries), None)
            if stream is None:
                return None
            part = stream.part
        image = layout.image if layout.image_rows_only else slice(0, n_query)
        cross = layout.text == slice(0, n_key) and image == slice(0, n_query)
        return Match(layout.text, image, part, cross)


class SelfAndCrossAttention:
    architecture = "joint-attention"
    name = "self and cross"

    def match(self, q: Any, axis: int, n_key: int, layout: TokenLayout) -> Match | None:
        n_query = q.shape[axis]
        if n_key != n_query + layout.length:
            return None
        return Match(slice(n_query + layout.text.start, n_query + layout.text.stop), slice(0, n_query))


AttentionKind = JointAttention | CrossAttention | SelfAndCrossAttention
JOINT = JointAttention()
CROSS = CrossAttention()
SELF_AND_CROSS = SelfAndCrossAttention()
