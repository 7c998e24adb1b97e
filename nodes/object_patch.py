"""PLADIS on DiTs whose attention ComfyUI calls without ``transformer_options`` (PixArt, HunyuanDiT, ERNIE-Image),
through ComfyUI's object patches on the clone: the ``optimized_attention_override`` never sees these calls.

Each selected block's attention module is object-patched (``add_object_patch("diffusion_model.<blocks>.<i>.
<attention>", twin)``) with a twin: a shallow copy of the module that shares its parameters, submodules and
buffers (the same objects, so weights, LoRA patches and device moves are the original's) and whose ``forward``
is a ``PladisForward``. ComfyUI puts the twin in place when it loads the clone and the original back when it
unloads it; the shared modules, their classes and the unpatched model are never changed.

The step's sigma and the model call's token layout reach the twins through a context variable that an
APPLY_MODEL wrapper sets for the duration of each model call; outside a model call, or outside the step range,
a twin runs the module's own forward. A second PLADIS node on the same module chains the first one's forward
(``previous``): their corrections add, each within its own step range.
"""

from __future__ import annotations

import contextvars
import copy
import logging
from dataclasses import dataclass
from typing import Any

import torch

from . import comfy_bridge
from .families.base import ModelCall
from .families.object_patched import ObjectPatchedFamily
from .families.registry import OBJECT_PATCHED
from .layer_selection import Site
from .route import Installed, PladisParams, Target, family_target
from .step_range import SigmaRange

logger = logging.getLogger(__name__)

WRAPPER_KEY = "pladis_object_patch"
_warned: dict[str, bool] = {}  # families already warned about, so that the log says it once


@dataclass
class ObjectPatchCall:
    """One model call of an object-patched model: its sigma and text layout, and how many calls PLADIS changed."""

    diffusion_model: Any
    sigmas: torch.Tensor | None
    layout: Any
    patched_calls: int = 0
    declined_calls: int = 0  # in the step range, but with inputs the family's forward does not handle


CURRENT_CALL: contextvars.ContextVar[ObjectPatchCall | None] = contextvars.ContextVar("pladis_object_patch_call")


@dataclass(eq=False, repr=False)
class PladisForward:
    """The ``forward`` of a twin: PLADIS in place of the module's softmax while the step is in range."""

    family: ObjectPatchedFamily
    twin: torch.nn.Module
    alpha: float
    scale: float
    step_range: SigmaRange
    previous: PladisForward | None = None  # an earlier PLADIS node's forward on the same module: the effects add

    def dense(self, *args: Any, **kwargs: Any) -> Any:
        if self.previous is not None:
            return self.previous(*args, **kwargs)
        return type(self.twin).forward(self.twin, *args, **kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        call = CURRENT_CALL.get(None)
        if call is None or not self.step_range.contains({"sigmas": call.sigmas}):
            return self.dense(*args, **kwargs)
        out = self.family.forward(self, call.layout, *args, **kwargs)
        if out is None:  # inputs this family's forward does not handle (a mask ComfyUI never passes today)
            call.declined_calls += 1
            return self.dense(*args, **kwargs)
        call.patched_calls += 1
        return out

    def attention(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, layout: Any) -> torch.Tensor:
        """PLADIS on (B, H, N, d) q, k, v of one call, as the family computes it (kept as a method: one place
        that sees every patched attention's inputs), plus the correction of an earlier PLADIS node in its range."""
        out = self.family.attend(q, k, v, layout, self.alpha, self.scale)
        previous, call = self.previous, CURRENT_CALL.get(None)
        if previous is not None and call is not None and previous.step_range.contains({"sigmas": call.sigmas}):
            # the formula is linear in λ: its correction is its output less the dense attention
            out = out + previous.attention(q, k, v, layout) - self.family.attend(q, k, v, layout, previous.alpha, 0.0)
        return out

    def __deepcopy__(self, memo: dict) -> PladisForward:
        return self  # holds the model's module: share it, as ComfyUI shares the model between clones


def twin_of(module: torch.nn.Module) -> torch.nn.Module:
    """A module of the same class sharing ``module``'s parameters, buffers and submodules (the same dicts)."""
    return copy.copy(module)


class ObjectPatchWrapper:
    """APPLY_MODEL wrapper, bound to the model's family at patch time: this model call's sigma and layout in
    ``CURRENT_CALL`` while the model runs."""

    def __init__(self, family: ObjectPatchedFamily) -> None:
        self.family = family

    def __call__(self, executor: Any, *args: Any, **kwargs: Any) -> Any:
        family, base_model = self.family, executor.class_obj
        x, sigmas, context = comfy_bridge.apply_model_inputs(args, kwargs)
        layout = family.layout(ModelCall(base_model.diffusion_model, base_model, x, context, kwargs))
        call = ObjectPatchCall(base_model.diffusion_model, sigmas, layout)
        token = CURRENT_CALL.set(call)
        try:
            out = executor(*args, **kwargs)
        finally:
            CURRENT_CALL.reset(token)
        if call.declined_calls and not call.patched_calls and not _warned.get(family.name):
            _warned[family.name] = True
            logger.warning(
                "[PLADIS] %s: the patched attention received inputs PLADIS does not handle (an attention mask); "
                "PLADIS did nothing in this model call. Please report this with your ComfyUI version.",
                family.name,
            )
        return out

    def __deepcopy__(self, memo: dict) -> ObjectPatchWrapper:
        return self


def patch_attention_modules(
    model_patcher: Any,
    family: ObjectPatchedFamily,
    selected: list[Site],
    alpha: float,
    scale: float,
    step_range: SigmaRange,
) -> int:
    """Object-patches the attention module of every selected block of ``model_patcher`` (a clone) with a twin;
    returns at how many of them it kept an earlier object patch (another PLADIS node's twin, or another node's)."""
    kept = 0
    for site in selected:
        name = f"diffusion_model.{family.blocks}.{site.block}.{family.module}"
        kept += name in getattr(model_patcher, "object_patches", {})
        # ComfyUI's view of the module: this clone's object patch, else the original even while a clone that
        # patched it is loaded (the backup), else the model's.
        current = model_patcher.get_model_object(name)
        previous = vars(current).get("forward")
        twin = twin_of(current)
        previous = previous if isinstance(previous, PladisForward) else None
        twin.forward = PladisForward(family, twin, alpha, scale, step_range, previous)
        model_patcher.add_object_patch(name, twin)
    comfy_bridge.add_apply_model_wrapper(model_patcher, WRAPPER_KEY, ObjectPatchWrapper(family))
    return kept


BY_CLASS = {name: family for family in OBJECT_PATCHED for name in family.classes}


def family_of(diffusion_model: Any) -> ObjectPatchedFamily | None:
    """The family of a diffusion model whose class is exactly one listed (a subclass may lay its tokens out
    otherwise), with the blocks and attention module that family patches."""
    family = BY_CLASS.get(type(diffusion_model).__name__)
    if family is None:
        return None
    blocks = getattr(diffusion_model, family.blocks, None)
    if not isinstance(blocks, torch.nn.ModuleList) or not all(hasattr(b, family.module) for b in blocks):
        return None
    return family


class ObjectPatchRoute:
    """DiTs whose attention ComfyUI calls without transformer_options: a twin of each selected attention module."""

    def recognise(self, diffusion_model: Any) -> Target | None:
        return family_target(self, family_of(diffusion_model), diffusion_model)

    def install(self, model_patcher: Any, target: Target, params: PladisParams) -> Installed:
        sites = list(params.sites)
        args = (params.alpha, params.scale, params.step_range)
        kept = patch_attention_modules(model_patcher, target.family, sites, *args)
        return Installed(patched=params.sites, kept_patches=kept)


ROUTE = ObjectPatchRoute()
