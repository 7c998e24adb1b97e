"""One ``optimized_attention`` call's arguments, in any of the layouts ComfyUI passes: q, k, v as (B, H, L, D)
views, the mask and the backend's other arguments by name, and the same call on some batch elements or with its
keys or queries read in another order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from .joint_forward import JointCall


def batch_rows(args: tuple, kwargs: dict, rows: slice) -> tuple[tuple, dict]:
    """An attention call's arguments for some of its batch elements (q, k, v, and a per-element mask)."""
    batch = args[0].shape[0]

    def part(t: Any) -> Any:
        return t[rows] if isinstance(t, torch.Tensor) and t.dim() >= 3 and t.shape[0] == batch else t

    args = (*(t[rows] for t in args[:3]), *(part(a) for a in args[3:]))
    return args, {n: part(x) if n == "mask" else x for n, x in kwargs.items()}


def _named(args: tuple, kwargs: dict) -> dict:
    """An attention call's arguments after q, k, v, by name (positional ones as the backends' signature names them)."""
    return {**dict(zip(_POSITIONAL, args[3:], strict=False)), **kwargs}


def _with_mask(args: tuple, kwargs: dict, mask: torch.Tensor) -> tuple[tuple, dict]:
    """The call's arguments with ``mask`` where the call passed its mask (positionally or by name)."""
    if len(args) > 4:
        return (*args[:4], mask, *args[5:]), kwargs
    return args, {**kwargs, "mask": mask}


def keys_in_order(args: tuple, kwargs: dict, order: torch.Tensor) -> tuple[tuple, dict]:
    """An attention call's arguments with its keys, values and mask columns read in ``order``: the same
    attention (the queries' order, and so the output's, is kept)."""
    named = _named(args, kwargs)
    axis = 2 if named.get("skip_reshape", False) else 1
    order = order.to(args[1].device)
    args = (args[0], *(t.index_select(axis, order) for t in args[1:3]), *args[3:])
    mask = named.get("mask")
    if isinstance(mask, torch.Tensor) and mask.shape[-1] == order.shape[0]:
        args, kwargs = _with_mask(args, kwargs, mask.index_select(-1, order.to(mask.device)))
    return args, kwargs


def queries_in_order(attend: Callable, func: Callable, call: JointCall, args: tuple, kwargs: dict) -> torch.Tensor:
    """``attend`` on the queries (and mask rows) read in ``call.query_order``, its output rows put back in the
    model's order: the same attention, row by row."""
    named = _named(args, kwargs)
    order = call.query_order.to(args[0].device)
    args = (args[0].index_select(2 if named.get("skip_reshape", False) else 1, order), *args[1:])
    mask = named.get("mask")
    if isinstance(mask, torch.Tensor) and mask.dim() >= 2 and mask.shape[-2] == order.shape[0]:
        args, kwargs = _with_mask(args, kwargs, mask.index_select(-2, order.to(mask.device)))
    out = attend(func, call, args, kwargs)
    return out.index_select(2 if named.get("skip_output_reshape", False) else 1, torch.argsort(order))


def _heads_view(t: torch.Tensor, heads: int, skip_reshape: bool) -> torch.Tensor:
    """(B, H, L, D) view of an attention input in any of the layouts ComfyUI passes."""
    if skip_reshape:
        return t
    if t.dim() == 4:  # SD3's v: (B, L, H, D)
        return t.transpose(1, 2)
    return t.view(t.shape[0], t.shape[1], heads, -1).transpose(1, 2)


def plain_tensor(t: Any) -> Any:
    """The tensor of a Comfy Kitchen ``AttentionTensorContainer`` (ComfyUI ≥ 0.33), taken from it as ComfyUI's
    wrapper does for overrides; anything else as it is."""
    return t if isinstance(t, torch.Tensor) or not hasattr(t, "take") else t.take()


# The backends' signature: (q, k, v, heads, mask=None, attn_precision=None, skip_reshape=False,
# skip_output_reshape=False, **kwargs).
_POSITIONAL = ("heads", "mask", "attn_precision", "skip_reshape", "skip_output_reshape")
# What AttentionArgs turns into q, k, v and the output layout; the backend gets the rest as they came.
_READ = frozenset({"heads", "mask", "skip_reshape", "skip_output_reshape", "scale", "enable_gqa"})


@dataclass
class AttentionArgs:
    """One optimized_attention call's arguments, with (B, H, L, D) views of q, k, v.

    k and v have q's H heads: grouped-query inputs (``enable_gqa``, fewer k/v heads) are repeated per group
    as ComfyUI's backends do. ``softmax_scale`` is the call's ``scale`` (ComfyUI ≥ 0.33), None for 1/√D;
    ``backend_kwargs`` are the other arguments, for a backend called on copies in this (B, H, L, D) layout.
    """

    q: torch.Tensor
    k: torch.Tensor
    v: torch.Tensor
    heads: int
    mask: torch.Tensor | None
    skip_output_reshape: bool
    softmax_scale: float | None = None
    backend_kwargs: dict = field(default_factory=dict)

    @classmethod
    def read(cls, args: tuple, kwargs: dict) -> AttentionArgs:
        named = _named(args, kwargs)
        heads, skip_reshape = named["heads"], named.get("skip_reshape", False)
        q, k, v = args[:3]
        q = _heads_view(q, heads, skip_reshape)
        key_heads = heads
        if named.get("enable_gqa", False) and not skip_reshape and k.dim() == 3:
            key_heads = k.shape[-1] // q.shape[-1]
        k, v = (_heads_view(t, key_heads, skip_reshape) for t in (k, v))
        if k.shape[1] != heads:  # grouped-query attention: query head h reads key head h // (H / H_kv)
            k, v = (t.repeat_interleave(heads // t.shape[1], dim=1) for t in (k, v))
        softmax_scale = named.get("scale")
        if softmax_scale is not None:
            softmax_scale = float(softmax_scale)
            if softmax_scale == q.shape[-1] ** -0.5:
                softmax_scale = None
        rest = {name: value for name, value in named.items() if name not in _READ}
        return cls(q, k, v, heads, named.get("mask"), named.get("skip_output_reshape", False), softmax_scale, rest)

    def empty_output(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(what the backend would return, its (B, H, L, Dv) view) — uninitialised."""
        batch, heads, length, _ = self.q.shape
        shape = (batch, heads, length, self.v.shape[-1])
        if self.skip_output_reshape:
            out = torch.empty(shape, dtype=self.v.dtype, device=self.v.device)
            return out, out
        out = torch.empty(batch, length, heads, shape[-1], dtype=self.v.dtype, device=self.v.device)
        return out.view(batch, length, -1), out.transpose(1, 2)

    def heads_view_of_output(self, out: torch.Tensor) -> torch.Tensor:
        batch, heads, length, _ = self.q.shape
        return out if self.skip_output_reshape else out.view(batch, length, heads, -1).transpose(1, 2)
