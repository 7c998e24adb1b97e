"""The DiT route: PLADIS through ComfyUI's ``optimized_attention_override``; each family is described in
``families``.

Two official hooks, no model code copied:
- an APPLY_MODEL wrapper (here) records, per model call, where the text keys and image queries are (the family's
  layout of the model's inputs) in a fresh ``JointForward`` (``joint_forward``) it adds to a copy of the
  transformer options; it also puts PLADIS's override back in front of an attention backend a later node wrote
  into the single slot (``override_chain``);
- the attention override (``joint_override``, chained to any override already set) recognises the text attention
  of each block — the joint attention of MM-DiTs, the text cross-attention of Wan — and applies PLADIS to it;
  every other call goes through unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from . import comfy_bridge
from .families import DitFamily, ModelCall, TokenLayout, family_of
from .families.base import PACK_COND_PREFIX
from .joint_forward import FORWARD_KEY, JointForward, orders_on_device
from .joint_override import PladisJointAttention
from .layer_selection import Site
from .override_chain import holds, with_backend
from .route import Installed, PladisParams, Target, family_target
from .safe_text import escape

logger = logging.getLogger(__name__)

OVERRIDE_KEY = "pladis_override"  # the last PLADIS override installed, found again at model-call time
# The APPLY_MODEL wrapper that lays out each model call: one per model, whether PLADIS or the map recorder adds it.
LAYOUT_WRAPPER_KEY = "pladis_joint_layout"
_warned: dict[str, bool] = {}  # families already warned about, so that the log says it once


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
        comfy_bridge.add_apply_model_wrapper(model_patcher, LAYOUT_WRAPPER_KEY, wrapper)
        return Installed(patched=params.sites, kept_patches=kept_overrides(previous))


ROUTE = DitRoute()
