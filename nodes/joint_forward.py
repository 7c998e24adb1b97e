"""One DiT model call as the attention override sees it: its token layout, and which of its attention calls
are the text attention of which block (``JointForward.classify``).

Block identity comes from ComfyUI's ``block_type``/``block_index`` where the model sets them (ComfyUI 0.3.75
and newer for most families), else from the order of those calls within the model call.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import torch

from .families import DitFamily, TokenLayout
from .families.attention_kind import AMBIGUOUS
from .layer_selection import Site

FORWARD_KEY = "pladis_joint_forward"  # where a model call's JointForward is, in its transformer options


@dataclass(frozen=True)
class JointCall:
    """A text attention call: its text keys and the query rows that change; ``cross``: all keys are text (a
    plain cross-attention); ``groups``: (batch rows, text keys) where batch elements hold their text apart;
    ``key_order``, ``query_order``: the orders to read the keys and the queries in so that ``text`` and ``image`` are
    where the text keys and the changed rows are (see TokenLayout)."""

    site: Site | None
    text: slice
    image: slice
    cross: bool = False
    groups: tuple[tuple[slice, slice], ...] = ()
    key_order: torch.Tensor | None = None
    query_order: torch.Tensor | None = None


@dataclass
class JointForward:
    """One model call: its token layout, and per attention override how many text attention calls it has seen."""

    family: DitFamily
    sites: list[Site]
    layout: TokenLayout
    counters: dict[tuple[int, str | None], int] = field(default_factory=dict)
    attention_calls: int = 0
    joint_calls: int = 0
    patched_calls: int = 0
    # Cross-attention families: calls over as many keys as the text with as many queries, which are either the
    # text cross-attention or a self-attention of a video with exactly that many tokens; left dense.
    self_shaped_calls: int = 0

    def classify(
        self, owner: object, q: torch.Tensor, k: torch.Tensor, kwargs: dict, options: dict
    ) -> JointCall | None:
        """The text attention of a block, with its text keys and changed query rows; None for other calls."""
        self.attention_calls += 1
        axis = 2 if kwargs.get("skip_reshape", False) else 1
        layout = self.layout
        if layout.text.stop <= layout.text.start:
            return None
        match = self.family.attention.match(q, axis, k.shape[axis], layout)
        if match is AMBIGUOUS:
            self.self_shaped_calls += 1
            return None
        if match is None:
            return None
        groups = ()
        if layout.batch_text:
            if len(layout.batch_text) != q.shape[0]:
                return None
            groups = tuple((slice(b, b + 1), text) for b, text in enumerate(layout.batch_text))
        index = self.counters.get((id(owner), match.part), 0)
        self.counters[id(owner), match.part] = index + 1
        self.joint_calls += 1
        site = Site(match.part, index, None) if match.part is not None else self._site(index, options)
        return JointCall(site, match.text, match.image, match.cross, groups, layout.key_order, layout.query_order)

    def _site(self, index: int, options: dict) -> Site | None:
        parts = self.family.part_names
        block_index = options.get("block_index")
        if block_index is not None:
            part = options.get("block_type") if len(parts) > 1 else parts[0]
            if part in parts:
                return Site(part, block_index, None)
        return self.sites[index] if index < len(self.sites) else None


def orders_on_device(layout: TokenLayout, x: Any) -> TokenLayout:
    """The layout with its key and query orders on the latent's device: moved once per model call, not at every
    attention call."""
    device = getattr(x, "device", None)
    moved = {
        name: order.to(device)
        for name in ("key_order", "query_order")
        if (order := getattr(layout, name)) is not None and device is not None and order.device != device
    }
    return replace(layout, **moved) if moved else layout
