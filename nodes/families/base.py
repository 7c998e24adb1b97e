"""What a DiT family description is: where the text attention is and how a model call's inputs lay out its tokens."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from ..layer_selection import Site
from .attention_kind import CROSS, JOINT, SELF_AND_CROSS, AttentionKind
from .record import Described

__all__ = ["CROSS", "JOINT", "SELF_AND_CROSS"]


@dataclass(frozen=True)
class ModelCall:
    """The inputs of one ``apply_model`` call, as the APPLY_MODEL wrapper sees them."""

    diffusion_model: Any
    base_model: Any
    x: torch.Tensor
    context: torch.Tensor | None
    conds: dict[str, Any] = field(default_factory=dict)

    @property
    def text_tokens(self) -> int:
        return 0 if self.context is None else self.context.shape[1]


# Conds a family's ``prepare`` adds to the model call for its layout; the layout wrapper takes them out again.
PACK_COND_PREFIX = "pladis_"


@dataclass(frozen=True)
class QueryStream:
    """One stream of queries attending to the same context (LTX-2's video and audio): its calls count as the
    blocks of ``part``; they are told apart by the queries' width (heads × head size) and count (at least)."""

    part: str
    width: int
    queries: int


@dataclass(frozen=True)
class TokenLayout:
    """Where the text attention's tokens are in one model call.

    Joint attention: the sequence has at least ``length`` tokens; ``text`` are the keys that came out of the
    text encoders, ``image`` the queries whose rows change. Cross-attention: exactly ``length`` keys, of which
    ``text`` are the encoder's, and at least ``image.stop`` queries, all of whose rows change.
    ``batch_text``: where batch elements hold their text at different places (left-padding of a length that
    depends on the prompt), the text slice of each element; empty if ``text`` holds for all.
    ``streams``: cross-attention with several query streams over one context, each a part of its own.
    ``key_order``: joint attention whose text keys are not contiguous (MiniMax H3's vision pads among the prompt's
    tokens): the order in which to read the keys (and values) so that the text keys are ``text``; attention
    does not depend on the order of its keys. None where they are contiguous already.
    ``image_rows_only``: cross-attention whose queries after ``image`` keep their dense rows (HiDream-O1's
    reference patches).
    ``query_order``: joint attention whose changed rows are not contiguous (HiDream E1's target and reference tokens
    interleave row by row): the order in which to read the queries so that those rows are ``image``; the output
    rows are put back in the model's order. None where they are contiguous already.
    ``note``: why PLADIS leaves this model call unchanged, when the layout cannot say where the text is (logged).
    """

    text: slice
    image: slice
    length: int
    batch_text: tuple[slice, ...] = ()
    streams: tuple[QueryStream, ...] = ()
    key_order: torch.Tensor | None = None
    query_order: torch.Tensor | None = None
    image_rows_only: bool = False
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class DitFamily(Described):
    """How one DiT family attends to its text.

    ``classes`` (from the catalog): the diffusion-model class names that share this layout (the class and its
    known variants). ``parts`` (from the catalog): (site part, attribute of the diffusion model holding those
    blocks), in execution order.
    ``layout``: the token layout of a model call (``text_keys``, in the catalog: which keys count as text, and why).
    ``default_parts``: the parts the "default" layer preset patches (all of them if empty).
    ``accepts``: a structural check on the diffusion model, for classes shared by several layouts.
    ``blocks``: a part's blocks, in execution order, from the diffusion model and the part's attribute.
    ``prepare``: registers on the patched clone what ``layout`` needs beyond the model call's own inputs (LTX-2:
    the prompt's length, recorded in an extra cond); None for most families.
    Self-and-cross attention: ``layout`` lays out the context only (``length`` its tokens, ``text`` in it).
    """

    FROM_CATALOG = ("classes", "parts")
    classes: tuple[str, ...] = field(init=False)
    parts: tuple[tuple[str, str], ...] = field(init=False)
    attention: AttentionKind
    layout: Callable[[ModelCall], TokenLayout]
    default_parts: tuple[str, ...] = ()
    accepts: Callable[[Any], bool] = lambda diffusion_model: True
    blocks: Callable[[Any, str], Any] = lambda diffusion_model, attribute: blocks_of(diffusion_model, attribute)
    prepare: Callable[[Any], None] | None = None

    @property
    def part_names(self) -> tuple[str, ...]:
        return tuple(part for part, _ in self.parts)

    @property
    def default_selection(self) -> tuple[str, ...]:
        return self.default_parts or self.part_names

    @property
    def left_out_of_default(self) -> tuple[str, ...]:
        return tuple(part for part in self.part_names if part not in self.default_selection)

    def sites(self, diffusion_model: Any) -> list[Site]:
        """Every block of every part, in execution order."""
        return [
            Site(part, index, None)
            for part, attribute in self.parts
            for index in range(len(self.blocks(diffusion_model, attribute)))
        ]


def no_text(note: str) -> TokenLayout:
    """The layout of a model call PLADIS leaves unchanged, and why."""
    return TokenLayout(slice(0, 0), slice(0, 0), 0, note=note)


def text_keys_first(is_text: torch.Tensor, image: slice, **fields: Any) -> TokenLayout:
    """The layout of a joint attention whose text keys are where ``is_text`` (one flag per key) is set: read
    first (``key_order``) unless they are a prefix of the keys already."""
    tokens = int(is_text.sum())
    if bool(is_text[:tokens].all()):
        return TokenLayout(slice(0, tokens), image, is_text.shape[0], **fields)
    order = torch.cat((is_text.nonzero().flatten(), (~is_text).nonzero().flatten()))
    return TokenLayout(slice(0, tokens), image, is_text.shape[0], key_order=order, **fields)


def image_token_count(x: torch.Tensor, patch_size: Any) -> int:
    """Tokens of a (B, C, H, W) or (B, C, T, H, W) latent cut into patches (padded up to whole patches, as the
    models do); an int patch size patches H and W only."""
    patch = (1, patch_size, patch_size) if isinstance(patch_size, int) else tuple(patch_size)
    dims = x.shape[2:]
    return math.prod(math.ceil(size / p) for size, p in zip(dims, patch[len(patch) - len(dims) :], strict=True))


def text_first(text_tokens: int, image_tokens: int, filler: int = 0, batch_text: tuple[slice, ...] = ()) -> TokenLayout:
    """[filler | text | image | anything after (reference latents)]."""
    start = filler + text_tokens
    return TokenLayout(slice(filler, start), slice(start, start + image_tokens), start + image_tokens, batch_text)


def text_cross_attention(call: ModelCall, queries: int) -> TokenLayout:
    """A text cross-attention: every key is one of the context's tokens; the first ``queries`` rows (the image or
    video tokens) change."""
    return TokenLayout(slice(0, call.text_tokens), slice(0, queries), call.text_tokens)


def image_first(image_tokens: int, text_start: int, text_tokens: int) -> TokenLayout:
    """[image | anything between (reference latents) | text], the text last."""
    end = text_start + text_tokens
    return TokenLayout(slice(text_start, end), slice(0, image_tokens), end)


def class_names(obj: Any) -> list[str]:
    return [cls.__name__ for cls in type(obj).__mro__]


def blocks_of(diffusion_model: Any, attribute: str) -> Any:
    """The diffusion model's attribute named by a dotted path ("language_model.layers"); None if it has none."""
    for name in attribute.split("."):
        diffusion_model = getattr(diffusion_model, name, None)
    return diffusion_model
