"""DiTs (Flux, Chroma, SD3, Qwen-Image, Wan): PLADIS through ComfyUI's ``optimized_attention_override``.

Two official hooks, no model code copied:
- an APPLY_MODEL wrapper records, per model call, how many text and image tokens the joint sequence holds
  (from the model's inputs) in a fresh ``JointForward`` it adds to a copy of the transformer options;
- the attention override (chained to any override already set) recognises the text attention of each block
  — the joint attention of MM-DiTs, the text cross-attention of Wan — and applies PLADIS to it; every other
  call goes through unchanged.
Block identity comes from ComfyUI's ``block_type``/``block_index`` where the model sets them (ComfyUI 0.3.75
and newer for most families), else from the order of those calls within the model call.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from ..pladis_core.alpha_entmax import compute_dtype
from ..pladis_core.cross_attention import pladis_attention_heads
from ..pladis_core.joint_attention import (
    additive_mask,
    logsumexp_over_keys,
    pladis_joint_attention,
    sdpa_with_logsumexp,
)
from . import comfy_bridge
from .layer_selection import Site
from .step_range import SigmaRange

logger = logging.getLogger(__name__)

FORWARD_KEY = "pladis_joint_forward"
_warned: dict[str, bool] = {}  # families already warned about, so that the log says it once
# ComfyUI backends verified to accept q/k/v padded to another head dim (the text-mass column rides along).
PADDING_SAFE_BACKENDS = frozenset({"attention_basic", "attention_sub_quad", "attention_split", "attention_pytorch"})


@dataclass(frozen=True)
class DitFamily:
    """How one DiT attends to its text.

    ``parts``: (site part, the diffusion model's attribute holding those blocks), in execution order.
    Joint attention: the sequence is [text | image | reference latents …] with the text as long as the
    conditioning (Flux, Chroma, Qwen-Image), or ``image_last``: [text | image] with the image tokens at the end
    (SD3, whose text part also holds its register tokens). ``cross_attention``: a separate text
    cross-attention whose keys are the conditioning (Wan).
    """

    name: str
    parts: tuple[tuple[str, str], ...]
    image_last: bool = False
    cross_attention: bool = False


FLUX_LIKE = (("double", "double_blocks"), ("single", "single_blocks"))
FAMILIES = {  # by the exact class of the diffusion model: variants with other blocks are not assumed to fit
    "Flux": DitFamily("Flux", FLUX_LIKE),
    "Chroma": DitFamily("Chroma", FLUX_LIKE),
    "OpenAISignatureMMDITWrapper": DitFamily("SD3", (("double", "joint_blocks"),), image_last=True),
    "QwenImageTransformer2DModel": DitFamily("Qwen-Image", (("double", "transformer_blocks"),)),
    "WanModel": DitFamily("Wan", (("block", "blocks"),), cross_attention=True),
}
SUPPORTED = "Flux (dev, schnell, Kontext), Chroma, SD3/SD3.5, Qwen-Image, Wan 2.x (T2V, I2V)"


def family_of(diffusion_model: Any) -> DitFamily | None:
    return FAMILIES.get(type(diffusion_model).__name__)


def block_sites(diffusion_model: Any, family: DitFamily) -> list[Site]:
    return [
        Site(part, index, None)
        for part, attribute in family.parts
        for index in range(len(getattr(diffusion_model, attribute)))
    ]


def image_token_count(x: torch.Tensor, patch_size: Any) -> int:
    """Tokens of a (B, C, H, W) or (B, C, T, H, W) latent cut into patches (padded up to whole patches, as the
    models do); an int patch size patches H and W only."""
    patch = (1, patch_size, patch_size) if isinstance(patch_size, int) else tuple(patch_size)
    dims = x.shape[2:]
    return math.prod(math.ceil(size / p) for size, p in zip(dims, patch[len(patch) - len(dims) :], strict=True))


@dataclass(frozen=True)
class JointCall:
    site: Site | None
    text: slice
    image: slice
    cross: bool = False


@dataclass
class JointForward:
    """One model call: the token counts, and per attention override how many joint calls it has seen."""

    family: DitFamily
    sites: list[Site]
    text_tokens: int
    image_tokens: int
    counters: dict[int, int] = field(default_factory=dict)
    attention_calls: int = 0
    joint_calls: int = 0
    patched_calls: int = 0

    def classify(
        self, owner: object, q: torch.Tensor, k: torch.Tensor, kwargs: dict, options: dict
    ) -> JointCall | None:
        """The text attention of a block, with its text and image token slices; None for other calls."""
        self.attention_calls += 1
        axis = 2 if kwargs.get("skip_reshape", False) else 1
        length = q.shape[axis]
        cross = self.family.cross_attention
        if cross:
            if k.shape[axis] != self.text_tokens or length != self.image_tokens:
                return None
            text, image = slice(0, self.text_tokens), slice(0, length)
        elif k.shape[axis] != length:
            return None
        elif self.family.image_last:
            if length <= self.image_tokens:
                return None
            text, image = slice(0, length - self.image_tokens), slice(length - self.image_tokens, length)
        else:
            if length < self.text_tokens + self.image_tokens or self.text_tokens == 0:
                return None
            text, image = slice(0, self.text_tokens), slice(self.text_tokens, self.text_tokens + self.image_tokens)
        index = self.counters.get(id(owner), 0)
        self.counters[id(owner)] = index + 1
        self.joint_calls += 1
        return JointCall(self._site(index, options), text, image, cross)

    def _site(self, index: int, options: dict) -> Site | None:
        parts = [part for part, _ in self.family.parts]
        block_index = options.get("block_index")
        if block_index is not None:
            part = options.get("block_type") if len(parts) > 1 else parts[0]
            if part in parts:
                return Site(part, block_index, None)
        return self.sites[index] if index < len(self.sites) else None


def _heads_view(t: torch.Tensor, heads: int, skip_reshape: bool) -> torch.Tensor:
    """(B, H, L, D) view of an attention input in any of the layouts ComfyUI passes."""
    if skip_reshape:
        return t
    if t.dim() == 4:  # SD3's v: (B, L, H, D)
        return t.transpose(1, 2)
    return t.view(t.shape[0], t.shape[1], heads, -1).transpose(1, 2)


@dataclass
class AttentionArgs:
    """One optimized_attention call's arguments, with (B, H, L, D) views of q, k, v."""

    q: torch.Tensor
    k: torch.Tensor
    v: torch.Tensor
    heads: int
    mask: torch.Tensor | None
    skip_output_reshape: bool

    @classmethod
    def read(cls, args: tuple, kwargs: dict) -> AttentionArgs:
        heads = args[3] if len(args) > 3 else kwargs["heads"]
        mask = args[4] if len(args) > 4 else kwargs.get("mask")
        q, k, v = (_heads_view(t, heads, kwargs.get("skip_reshape", False)) for t in args[:3])
        return cls(q, k, v, heads, mask, kwargs.get("skip_output_reshape", False))

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
        a = AttentionArgs.read(args, kwargs)
        result, out = a.empty_output()
        bias = additive_mask(a.mask, compute_dtype(a.q.dtype))
        if call.cross:
            pladis_attention_heads(a.q, a.k, a.v, self.alpha, self.scale, out=out, bias=bias)
        else:
            dense_source = self.dense_source(func, call, args, kwargs, a, bias)
            pladis_joint_attention(
                a.q, a.k, a.v, call.text, call.image, self.alpha, self.scale, bias=bias, out=out, **dense_source
            )
        return result

    def dense_source(self, func, call: JointCall, args, kwargs, a: AttentionArgs, bias) -> dict[str, Any]:
        """How pladis_joint_attention gets the dense output and each row's text mass (see the README):
        the backend's log-sum-exp, an extra V column through the backend, or a separate log-sum-exp pass."""
        if self.previous is None and func.__name__ in PADDING_SAFE_BACKENDS:
            if func.__name__ == "attention_pytorch" and a.q.shape[-1] == a.v.shape[-1]:
                kernel = sdpa_with_logsumexp(a.q.device, additive_mask(a.mask, a.q.dtype))
                if kernel is not None:
                    return {"attend_with_logsumexp": kernel}
            rest = {
                n: x for n, x in kwargs.items() if n not in ("heads", "mask", "skip_reshape", "skip_output_reshape")
            }

            def attend(qp: torch.Tensor, kp: torch.Tensor, vp: torch.Tensor) -> torch.Tensor:
                return func(qp, kp, vp, a.heads, mask=a.mask, skip_reshape=True, skip_output_reshape=True, **rest)

            return {"attend": attend}

        def attend_with_logsumexp(*_: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            # Only the image rows' log-sum-exp is read; the others stay 0.
            logsumexp = torch.zeros(a.q.shape[:3], dtype=compute_dtype(a.q.dtype), device=a.q.device)
            logsumexp[..., call.image] = logsumexp_over_keys(a.q[:, :, call.image], a.k, _rows(bias, call.image))
            return a.heads_view_of_output(self.dense(func, args, kwargs)), logsumexp

        return {"attend_with_logsumexp": attend_with_logsumexp}


def _rows(bias: torch.Tensor | None, rows: slice) -> torch.Tensor | None:
    if bias is None or bias.shape[-2] == 1:
        return bias
    return bias[..., rows, :]


def joint_layout_wrapper(executor: Any, *args: Any, **kwargs: Any) -> Any:
    """APPLY_MODEL wrapper: adds a fresh ``JointForward`` for this model call to its transformer options."""
    diffusion_model = executor.class_obj.diffusion_model
    family = family_of(diffusion_model)
    if family is None:
        return executor(*args, **kwargs)
    context = args[3] if len(args) > 3 else kwargs.get("c_crossattn")
    forward = JointForward(
        family,
        block_sites(diffusion_model, family),
        text_tokens=0 if context is None else context.shape[1],
        image_tokens=image_token_count(args[0], diffusion_model.patch_size),
    )
    out = comfy_bridge.call_apply_model(executor, args, kwargs, lambda options: {**options, FORWARD_KEY: forward})
    if forward.attention_calls and not forward.joint_calls and not _warned.get(family.name):
        _warned[family.name] = True
        logger.warning(
            "[PLADIS] %s: no joint attention call matched the expected layout (%d text, %d image tokens); "
            "PLADIS did nothing in this model call. Please report this with your ComfyUI version.",
            family.name,
            forward.text_tokens,
            forward.image_tokens,
        )
    return out


def patch_joint_attention(
    model_patcher: Any, selected: list[Site], alpha: float, scale: float, step_range: SigmaRange
) -> bool:
    """Sets the attention override (chained to an existing one) and the layout wrapper; True if chained."""
    comfy_bridge.require_attention_override()
    options = model_patcher.model_options.setdefault("transformer_options", {})
    previous = options.get("optimized_attention_override")
    options["optimized_attention_override"] = PladisJointAttention(
        alpha, scale, step_range, frozenset(selected), previous
    )
    comfy_bridge.add_apply_model_wrapper(model_patcher, "pladis_joint_layout", joint_layout_wrapper)
    return previous is not None
