"""DiTs: PLADIS through ComfyUI's ``optimized_attention_override``; each family is described in ``families``.

Two official hooks, no model code copied:
- an APPLY_MODEL wrapper records, per model call, where the text keys and image queries are (the family's
  layout of the model's inputs) in a fresh ``JointForward`` it adds to a copy of the transformer options; it
  also puts PLADIS's override back in front of an attention backend a later node wrote into the single slot;
- the attention override (chained to any override already set) recognises the text attention of each block
  — the joint attention of MM-DiTs, the text cross-attention of Wan — and applies PLADIS to it; every other
  call goes through unchanged.
Block identity comes from ComfyUI's ``block_type``/``block_index`` where the model sets them (ComfyUI 0.3.75
and newer for most families), else from the order of those calls within the model call.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from ..pladis_core.alpha_entmax import compute_dtype
from ..pladis_core.cross_attention import pladis_attention_heads
from ..pladis_core.joint_attention import (
    additive_mask,
    keys_for_default_scale,
    logsumexp_over_keys,
    mask_for_heads,
    pladis_joint_attention,
    sdpa_with_logsumexp,
)
from . import comfy_bridge
from .families import DitFamily, ModelCall, TokenLayout, family_of
from .families.attention_kind import AMBIGUOUS
from .families.base import PACK_COND_PREFIX
from .layer_selection import Site
from .route import Installed, PladisParams, Target, family_target
from .safe_text import escape
from .step_range import SigmaRange

logger = logging.getLogger(__name__)

FORWARD_KEY = "pladis_joint_forward"
OVERRIDE_KEY = "pladis_override"  # the last PLADIS override installed, found again at model-call time
_warned: dict[str, bool] = {}  # families already warned about, so that the log says it once
# ComfyUI backends verified to accept q/k/v padded to another head dim (the text-mass column rides along).
PADDING_SAFE_BACKENDS = frozenset({"attention_basic", "attention_sub_quad", "attention_split", "attention_pytorch"})


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


def _plain_tensor(t: Any) -> Any:
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


class PladisJointAttention:
    """The ``optimized_attention_override``: PLADIS on the selected text attentions, pass-through otherwise."""

    def __init__(
        self,
        alpha: float,
        scale: float,
        step_range: SigmaRange,
        selected: frozenset[Site],
        previous: Callable | None = None,
    ) -> None:
        self.alpha = alpha
        self.scale = scale
        self.step_range = step_range
        self.selected = selected
        self.previous = previous

    def __call__(self, func: Callable, *args: Any, **kwargs: Any) -> Any:
        args = tuple(_plain_tensor(t) for t in args[:3]) + args[3:]
        options = kwargs.get("transformer_options") or {}
        forward = options.get(FORWARD_KEY)
        if forward is None or len(args) < 3:
            return self.dense(func, args, kwargs)
        # Compiled code cannot branch on the step (see SigmaRange.inside): both results, chosen at run time.
        inside = None
        if torch.compiler.is_compiling():
            inside = self.step_range.inside(options)
        elif not self.step_range.contains(options):
            return self.dense(func, args, kwargs)
        call = forward.classify(self, args[0], args[1], kwargs, options)
        if call is None or call.site not in self.selected:
            return self.dense(func, args, kwargs)
        forward.patched_calls += 1
        out = self.pladis(func, call, args, kwargs)
        return out if inside is None else torch.where(inside, out, self.dense(func, args, kwargs))

    def dense(self, func: Callable, args: tuple, kwargs: dict) -> Any:
        if self.previous is not None:
            return self.previous(func, *args, **kwargs)
        return func(*args, **kwargs)

    def pladis(self, func: Callable, call: JointCall, args: tuple, kwargs: dict) -> torch.Tensor:
        if call.key_order is not None:
            args, kwargs = keys_in_order(args, kwargs, call.key_order)
        if call.query_order is not None:
            return queries_in_order(self.pladis_in_order, func, call, args, kwargs)
        return self.pladis_in_order(func, call, args, kwargs)

    def pladis_in_order(self, func: Callable, call: JointCall, args: tuple, kwargs: dict) -> torch.Tensor:
        if call.groups:
            return by_batch_groups(self, func, call, args, kwargs)
        a = AttentionArgs.read(args, kwargs)
        result, out = a.empty_output()
        bias = additive_mask(a.mask, compute_dtype(a.q.dtype))
        if call.cross:
            keys = keys_for_default_scale(a.k, a.softmax_scale)
            pladis_attention_heads(a.q, keys, a.v, self.alpha, self.scale, out=out, bias=bias)
        else:
            dense_source = self.dense_source(func, call, args, kwargs, a, bias)
            pladis_joint_attention(
                a.q,
                a.k,
                a.v,
                call.text,
                call.image,
                self.alpha,
                self.scale,
                bias=bias,
                out=out,
                softmax_scale=a.softmax_scale,
                **dense_source,
            )
        return result

    def dense_source(self, func, call: JointCall, args, kwargs, a: AttentionArgs, bias) -> dict[str, Any]:
        """How pladis_joint_attention gets the dense output and each row's text mass (see the README):
        the backend's log-sum-exp, an extra V column through the backend, or a separate log-sum-exp pass."""
        if self.previous is None and func.__name__ in PADDING_SAFE_BACKENDS:
            if func.__name__ == "attention_pytorch" and a.q.shape[-1] == a.v.shape[-1]:
                kernel = sdpa_with_logsumexp(a.q.device, additive_mask(a.mask, a.q.dtype), a.softmax_scale)
                if kernel is not None:
                    return {"attend_with_logsumexp": kernel}

            def attend(qp: torch.Tensor, kp: torch.Tensor, vp: torch.Tensor, heads: slice) -> torch.Tensor:
                # Called per group of heads, on padded copies whose q already carries the softmax scale.
                mask = mask_for_heads(a.mask, heads)
                return func(
                    qp, kp, vp, qp.shape[1], mask=mask, skip_reshape=True, skip_output_reshape=True, **a.backend_kwargs
                )

            return {"attend": attend}

        def attend_with_logsumexp(*_: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            # Only the image rows' log-sum-exp is read; the others stay 0.
            logsumexp = torch.zeros(a.q.shape[:3], dtype=compute_dtype(a.q.dtype), device=a.q.device)
            logsumexp[..., call.image] = logsumexp_over_keys(
                a.q[:, :, call.image], a.k, _rows(bias, call.image), softmax_scale=a.softmax_scale
            )
            return a.heads_view_of_output(self.dense(func, args, kwargs)), logsumexp

        return {"attend_with_logsumexp": attend_with_logsumexp}


def _rows(bias: torch.Tensor | None, rows: slice) -> torch.Tensor | None:
    if bias is None or bias.shape[-2] == 1:
        return bias
    return bias[..., rows, :]


def by_batch_groups(
    override: PladisJointAttention, func: Callable, call: JointCall, args: tuple, kwargs: dict
) -> torch.Tensor:
    """PLADIS on each group of batch elements with its own text keys (dense where it has none), concatenated."""
    outputs = []
    for rows, text in call.groups:
        part_args, part_kwargs = batch_rows(args, kwargs, rows)
        if text.stop <= text.start:
            outputs.append(override.dense(func, part_args, part_kwargs))
        else:
            outputs.append(override.pladis(func, replace(call, text=text, groups=()), part_args, part_kwargs))
    return torch.cat(outputs)


def with_backend(override: PladisJointAttention, backend: Callable | None) -> PladisJointAttention:
    """A copy of ``override`` (and of the PLADIS overrides it chains) whose dense part goes through ``backend``."""
    chained = override.previous
    twin = copy.copy(override)
    twin.previous = with_backend(chained, backend) if isinstance(chained, PladisJointAttention) else backend
    return twin


def holds(obj: Any, target: object, depth: int = 3) -> bool:
    """Whether ``obj`` refers to ``target`` through its closure, attributes, partial arguments or bound self:
    an override that chains the one before it holds it in one of these."""
    if obj is target:
        return True
    if depth == 0 or obj is None:
        return False
    if isinstance(obj, dict | list | tuple):  # an override that keeps the one before it in a table
        values = obj.values() if isinstance(obj, dict) else obj
        return any(holds(x, target, depth - 1) for x in values if not isinstance(x, torch.Tensor))
    func = getattr(obj, "__func__", obj)
    inner = [cell.cell_contents for cell in getattr(func, "__closure__", None) or () if _filled(cell)]
    inner += [getattr(obj, "__self__", None), getattr(obj, "func", None), *getattr(obj, "args", ())]
    if not callable(obj) or not hasattr(obj, "__code__"):
        inner += list(getattr(obj, "__dict__", {}).values())
    return any(holds(x, target, depth - 1) for x in inner if x is not None and not isinstance(x, torch.Tensor))


def _filled(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True


def _call_options(options: dict, forward: JointForward) -> dict:
    """This model call's transformer options: the forward state, and PLADIS's override in front of an attention
    backend a later node put in the single override slot without chaining PLADIS's (as ComfyUI's
    ModelAttentionBackend and the Sage/Flash patch nodes do)."""
    changed = {**options, FORWARD_KEY: forward}
    ours, current = options.get(OVERRIDE_KEY), options.get("optimized_attention_override")
    if isinstance(ours, PladisJointAttention) and current is not None and not holds(current, ours):
        if not _warned.get("backend_after"):
            _warned["backend_after"] = True
            logger.info(
                "[PLADIS] a node after PLADIS replaced the attention override; PLADIS stays in front of it and "
                "uses it for the dense attention"
            )
        changed["optimized_attention_override"] = with_backend(ours, current)
    return changed


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


class JointLayoutWrapper:
    """APPLY_MODEL wrapper, bound to the model's family and sites at patch time: adds a fresh ``JointForward``
    for this model call to its transformer options."""

    def __init__(self, family: DitFamily, sites: tuple[Site, ...]) -> None:
        self.family, self.sites = family, sites

    def __call__(self, executor: Any, *args: Any, **kwargs: Any) -> Any:
        base_model = executor.class_obj
        x, _, context = comfy_bridge.apply_model_inputs(args, kwargs)
        call = ModelCall(base_model.diffusion_model, base_model, x, context, kwargs)
        layout = orders_on_device(self.family.layout(call), x)
        kwargs = {name: value for name, value in kwargs.items() if not name.startswith(PACK_COND_PREFIX)}
        forward = JointForward(self.family, list(self.sites), layout)
        out = comfy_bridge.call_apply_model(executor, args, kwargs, lambda options: _call_options(options, forward))
        warn_once_if_unchanged(self.family, layout, forward)
        return out

    def __deepcopy__(self, memo: dict) -> JointLayoutWrapper:
        return self


def warn_once_if_unchanged(family: DitFamily, layout: TokenLayout, forward: JointForward) -> None:
    """Logs, once per family and cause, a model call PLADIS left unchanged."""
    if layout.note:
        if not _warned.get((family.name, layout.note)):
            _warned[family.name, layout.note] = True
            logger.warning("[PLADIS] %s: %s; PLADIS left this model call unchanged.", family.name, escape(layout.note))
    elif forward.self_shaped_calls and not _warned.get(("self_shaped", family.name)):
        _warned["self_shaped", family.name] = True
        logger.warning(
            "[PLADIS] %s: the video has as many tokens as the text (%d), so its self-attention cannot be told "
            "from the text cross-attention: PLADIS left those calls dense. Change the size or length slightly.",
            family.name,
            layout.length,
        )
    elif forward.attention_calls and not forward.joint_calls and not _warned.get(family.name):
        _warned[family.name] = True
        logger.warning(
            "[PLADIS] %s: no text attention call matched the expected layout (text keys %d-%d, image queries "
            "%d-%d, %d tokens); PLADIS did nothing in this model call. Please report this with your ComfyUI "
            "version.",
            family.name,
            layout.text.start,
            layout.text.stop,
            layout.image.start,
            layout.image.stop,
            layout.length,
        )
    elif not forward.attention_calls and not _warned.get(("unreached", family.name)):
        _warned[("unreached", family.name)] = True
        logger.warning(
            "[PLADIS] %s: no attention call of this model reached the attention override: this ComfyUI calls its "
            "attention without transformer_options, so PLADIS did nothing. A newer ComfyUI routes it.",
            family.name,
        )


def kept_overrides(previous: Callable | None) -> int:
    """How many overrides an override installed in front of ``previous`` keeps: the chain of PLADIS overrides
    down to the first other one."""
    kept = 0
    while previous is not None:
        kept += 1
        previous = previous.previous if isinstance(previous, PladisJointAttention) else None
    return kept


class DitRoute:
    """DiTs whose attention reaches ComfyUI's ``optimized_attention_override``: PLADIS as that override."""

    def recognise(self, diffusion_model: Any) -> Target | None:
        return family_target(self, family_of(diffusion_model), diffusion_model)

    def install(self, model_patcher: Any, target: Target, params: PladisParams) -> Installed:
        """Sets the attention override (chained to an existing one) and the layout wrapper."""
        comfy_bridge.require_attention_override()
        family = target.family
        if family.prepare is not None:
            family.prepare(model_patcher)
        options = model_patcher.model_options.setdefault("transformer_options", {})
        previous = options.get("optimized_attention_override")
        override = PladisJointAttention(
            params.alpha, params.scale, params.step_range, frozenset(params.sites), previous
        )
        options["optimized_attention_override"] = override
        options[OVERRIDE_KEY] = override
        wrapper = JointLayoutWrapper(family, target.sites)
        comfy_bridge.add_apply_model_wrapper(model_patcher, "pladis_joint_layout", wrapper)
        return Installed(patched=params.sites, kept_patches=kept_overrides(previous))


ROUTE = DitRoute()
