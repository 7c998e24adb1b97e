"""The recorder: per prompt word, the image → text attention maps of a real sampling run, on the side.

It is installed on a clone of the MODEL through the hooks PLADIS uses, in front of whatever is there (a PLADIS
patch or not), and it returns exactly what the attention it wraps returns: the sampled latent is the same bit
for bit. At each recorded call it computes, from the call's own q and k, the word maps of
``pladis_core.attention_maps`` (dense softmax, α-entmax and PLADIS's mix) and adds them to a ``MapAccumulator``:

- UNets: an attn2 replacement at each cross-attention, wrapping the one already there;
- DiTs: the attention override, chained in front of the one already there; the text attention calls are
  those PLADIS's own ``JointForward`` classifies (the family's token layout, added if PLADIS is not installed);
- object-patched families (PixArt): a twin of each attention module (``object_recorder``).

What the PLADIS column shows: on a model patched by PLADIS Model Patch, the layers PLADIS patched are recorded,
with the patch's α and λ where its step range holds and λ = 0 (its real, dense attention) outside it; on a model
without PLADIS, every text attention is recorded and the PLADIS column is what PLADIS would compute with the
recorder's α and λ. Only the conditional rows of a batch are recorded (the negative prompt has other words).
Video: the first latent frame's queries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ...pladis_core.alpha_entmax import compute_dtype
from ...pladis_core.joint_attention import additive_mask, logsumexp_over_keys
from ...pladis_core.repetition import key_repeat_counts
from .. import comfy_bridge
from ..attention_call import AttentionArgs, keys_in_order, plain_tensor
from ..cross_attention_patch import PladisCrossAttention
from ..dit import LAYOUT_WRAPPER_KEY, OVERRIDE_KEY, JointLayoutWrapper
from ..joint_forward import FORWARD_KEY
from ..joint_override import PladisJointAttention
from ..layer_selection import Site
from ..route import Target
from .recording import (
    CALL_KEY,
    ONE_TO_ONE_DIT_FAMILIES,
    RESET_KEY,
    SUPPORTED,
    Recording,
    UnsupportedForMapsError,
    cond_rows,
    split_heads,
    take_rows,
)


@dataclass(eq=False, repr=False)
class RecordingCrossAttention:
    """An attn2 replacement that returns what ``previous`` (or ComfyUI's attention) returns, and records."""

    recording: Recording
    previous: Any = None
    site: Site | None = None

    def __call__(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, extra_options: dict, **kwargs: Any) -> Any:
        if self.previous is not None:
            out = self.previous(q, k, v, extra_options)
        else:
            out = comfy_bridge.optimized_attention(q, k, v, extra_options)
        if not torch.compiler.is_compiling() and self.recording.step_range.contains(extra_options):
            with torch.no_grad():
                self.record(q, k, extra_options)
        return out

    def record(self, q: torch.Tensor, k: torch.Tensor, extra_options: dict) -> None:
        rows = cond_rows(q.shape[0], extra_options)
        if rows is None:
            return
        heads = extra_options["n_heads"]
        q, k = (take_rows(t, rows, t.shape[0]) for t in (q, k))
        repeats = key_repeat_counts(k)
        q, k = split_heads(q, heads), split_heads(k, heads)
        alpha, scale = self.recording.alpha, self.recording.scale
        if isinstance(self.previous, PladisCrossAttention):
            alpha = self.previous.alpha
            scale = self.previous.scale if self.previous.step_range.contains(extra_options) else 0.0
        self.recording.record(q, k, alpha, scale, key_repeats=repeats)

    def to(self, device: Any) -> RecordingCrossAttention:
        if self.previous is None or not hasattr(self.previous, "to"):
            return self
        moved = self.previous.to(device)
        return self if moved is self.previous else RecordingCrossAttention(self.recording, moved, self.site)

    def models(self) -> list:
        return list(self.previous.models()) if hasattr(self.previous, "models") else []

    def __deepcopy__(self, memo: dict) -> RecordingCrossAttention:
        return self


def pladis_in_chain(override: Any) -> PladisJointAttention | None:
    """The first PLADIS override an override chain holds (through ``previous``), or None."""
    seen = 0
    while override is not None and seen < 32:
        if isinstance(override, PladisJointAttention):
            return override
        override = getattr(override, "previous", None)
        seen += 1
    return None


@dataclass(eq=False, repr=False)
class RecordingOverride:
    """The ``optimized_attention_override`` that returns what ``previous`` (or the backend) returns, and records
    the text attention calls the model call's ``JointForward`` classifies."""

    recording: Recording
    previous: Callable | None = None

    def __call__(self, func: Callable, *args: Any, **kwargs: Any) -> Any:
        out = self.previous(func, *args, **kwargs) if self.previous is not None else func(*args, **kwargs)
        options = kwargs.get("transformer_options") or {}
        forward = options.get(FORWARD_KEY)
        if forward is None or len(args) < 3 or torch.compiler.is_compiling():
            return out
        if not self.recording.step_range.contains(options):
            return out
        args = tuple(plain_tensor(t) for t in args[:3]) + args[3:]
        call = forward.classify(self, args[0], args[1], kwargs, options)
        if call is None:
            return out
        pladis = pladis_in_chain(self.previous)
        if pladis is None and isinstance(options.get(OVERRIDE_KEY), PladisJointAttention):
            self.recording.skip("PLADIS Model Patch was applied after the recorder: place the recorder after it")
            return out
        if pladis is not None and call.site not in pladis.selected:
            return out
        with torch.no_grad():
            self.record(call, args, kwargs, options, pladis)
        return out

    def record(self, call: Any, args: tuple, kwargs: dict, options: dict, pladis: PladisJointAttention | None):
        recording = self.recording
        if call.groups or call.query_order is not None:
            recording.skip("calls whose batch elements hold their text apart, or whose queries are reordered")
            return
        if call.key_order is not None:
            args, kwargs = keys_in_order(args, kwargs, call.key_order)
        a = AttentionArgs.read(args, kwargs)
        batch = a.q.shape[0]
        rows = cond_rows(batch, options)
        if rows is None:
            return
        alpha, scale = recording.alpha, recording.scale
        if pladis is not None:
            alpha, scale = pladis.alpha, pladis.scale if pladis.step_range.contains(options) else 0.0
        bias = additive_mask(a.mask, compute_dtype(a.q.dtype))
        if bias is not None:
            bias = bias.reshape((1,) * (4 - bias.dim()) + tuple(bias.shape))
            if bias.shape[-2] > 1:
                bias = bias[..., call.image, :]
        q = take_rows(a.q, rows, batch)[:, :, call.image]
        bias = take_rows(bias, rows, batch)
        if call.cross:
            recording.record(q, take_rows(a.k, rows, batch), alpha, scale, bias=bias, softmax_scale=a.softmax_scale)
            return
        k_all = take_rows(a.k, rows, batch)
        total = logsumexp_over_keys(q, k_all, bias, softmax_scale=a.softmax_scale)
        text_bias = None if bias is None else bias[..., call.text]
        recording.record(
            q, k_all[:, :, call.text], alpha, scale, bias=text_bias, total_logsumexp=total,
            softmax_scale=a.softmax_scale,
        )  # fmt: skip

    def __deepcopy__(self, memo: dict) -> RecordingOverride:
        return self


class _RecordingWrapper:
    """A ComfyUI wrapper holding the recording; the model patcher's copies share it (no deep copy)."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording

    def __deepcopy__(self, memo: dict) -> _RecordingWrapper:
        return self


class RecordingCallWrapper(_RecordingWrapper):
    """APPLY_MODEL wrapper: the current model call's latent shape, for the recorded calls' grids."""

    def __call__(self, executor: Any, *args: Any, **kwargs: Any) -> Any:
        x, _, _ = comfy_bridge.apply_model_inputs(args, kwargs)
        self.recording.latent_shape = tuple(getattr(x, "shape", ())) or None
        options = kwargs.get("transformer_options", args[5] if len(args) > 5 else None)
        self.recording.cond_or_uncond = options.get("cond_or_uncond") if isinstance(options, dict) else None
        return executor(*args, **kwargs)


class ResetAtSampling(_RecordingWrapper):
    """OUTER_SAMPLE wrapper: every sampling run records afresh (a cached recorder node keeps its handle)."""

    def __call__(self, executor: Any, *args: Any, **kwargs: Any) -> Any:
        self.recording.reset()
        return executor(*args, **kwargs)


def install_unet_recorder(model_patcher: Any, recording: Recording, sites: Sequence[Site]) -> int:
    """attn2 recorders at the PLADIS-patched sites (every site when PLADIS is not there); returns how many."""
    options = model_patcher.model_options.get("transformer_options", {})
    existing = options.get("patches_replace", {}).get("attn2", {})
    previous_at = {site: existing.get(tuple(site), existing.get((site.part, site.block))) for site in sites}
    patched = [site for site, p in previous_at.items() if isinstance(p, PladisCrossAttention)]
    for site in patched or list(sites):
        recorder = RecordingCrossAttention(recording, previous_at[site], site)
        model_patcher.set_model_attn2_replace(recorder, site.part, site.block, site.index)
    return len(patched or sites)


def install_dit_recorder(model_patcher: Any, recording: Recording, target: Target) -> None:
    """The recording override in front of the current one, and the family's layout wrapper if PLADIS has not
    added it (it classifies the text attention calls)."""
    comfy_bridge.require_attention_override()
    if target.family.name not in ONE_TO_ONE_DIT_FAMILIES:
        raise UnsupportedForMapsError(
            f"PLADIS Attention Maps cannot map words onto the text keys of {target.family.name} models yet "
            f"(supported: {SUPPORTED})"
        )
    if target.family.prepare is not None:
        target.family.prepare(model_patcher)
    options = model_patcher.model_options.setdefault("transformer_options", {})
    options["optimized_attention_override"] = RecordingOverride(recording, options.get("optimized_attention_override"))
    layout_wrapper = JointLayoutWrapper(target.family, target.sites)
    comfy_bridge.add_apply_model_wrapper(model_patcher, LAYOUT_WRAPPER_KEY, layout_wrapper)


def install_recorder(model_patcher: Any, recording: Recording, target: Target) -> None:
    """Installs the recorder of ``recording`` on ``model_patcher`` (a clone) through ``target``'s route."""
    from .. import dit, object_patch, unet
    from .object_recorder import install_object_recorder

    if target.route is unet.ROUTE:
        install_unet_recorder(model_patcher, recording, target.sites)
    elif target.route is dit.ROUTE:
        install_dit_recorder(model_patcher, recording, target)
    elif target.route is object_patch.ROUTE:
        install_object_recorder(model_patcher, recording, target)
    else:
        raise UnsupportedForMapsError("PLADIS Attention Maps cannot record this model: no route records it")
    from comfy.patcher_extension import WrappersMP

    model_patcher.add_wrapper_with_key(WrappersMP.APPLY_MODEL, CALL_KEY, RecordingCallWrapper(recording))
    model_patcher.add_wrapper_with_key(WrappersMP.OUTER_SAMPLE, RESET_KEY, ResetAtSampling(recording))
