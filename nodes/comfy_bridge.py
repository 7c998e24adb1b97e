"""The few ComfyUI internals the nodes use, looked up when needed so that importing the pack stays cheap."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


def optimized_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, extra_options: dict[str, Any]
) -> torch.Tensor:
    """ComfyUI's cross-attention call exactly as ``CrossAttention.forward`` makes it.

    Passing the options as ``transformer_options`` keeps any ``optimized_attention_override`` (Sage, Flash,
    attention-selector nodes) in force.
    """
    from comfy.ldm.modules import attention

    return attention.optimized_attention(
        q,
        k,
        v,
        extra_options["n_heads"],
        attn_precision=extra_options.get("attn_precision"),
        transformer_options=extra_options,
    )


def add_apply_model_wrapper(model_patcher: Any, key: str, wrapper: Any) -> None:
    """Registers ``wrapper(executor, *args, **kwargs)`` around the model's ``apply_model``, once per key."""
    from comfy.patcher_extension import WrappersMP

    if not model_patcher.get_wrappers(WrappersMP.APPLY_MODEL, key):
        model_patcher.add_wrapper_with_key(WrappersMP.APPLY_MODEL, key, wrapper)


def apply_model_inputs(args: tuple, kwargs: dict) -> tuple[Any, Any, Any]:
    """(x, t, c_crossattn) of an APPLY_MODEL call ``(x, t, c_concat, c_crossattn, …)``, positional or keyword."""
    t = args[1] if len(args) > 1 else kwargs.get("t")
    context = args[3] if len(args) > 3 else kwargs.get("c_crossattn")
    return args[0], t, context


def call_apply_model(executor: Any, args: tuple, kwargs: dict, change: Callable[[dict], dict | None]) -> Any:
    """Calls an APPLY_MODEL ``executor(x, t, c_concat, c_crossattn, control, transformer_options, **kw)`` with
    the transformer options ``change`` returns for them (positional or keyword; None keeps them as they are)."""
    in_kwargs = isinstance(kwargs.get("transformer_options"), dict)
    options = kwargs["transformer_options"] if in_kwargs else (args[5] if len(args) > 5 else None)
    changed = change(options) if isinstance(options, dict) else None
    if changed is not None and in_kwargs:
        kwargs = {**kwargs, "transformer_options": changed}
    elif changed is not None:
        args = (*args[:5], changed, *args[6:])
    return executor(*args, **kwargs)


def require_attention_override() -> None:
    """DiTs are patched through ``optimized_attention_override``, which ComfyUI 0.3.59 introduced."""
    from comfy.ldm.modules import attention

    if not hasattr(attention, "wrap_attn"):
        raise RuntimeError(
            "PLADIS Model Patch needs ComfyUI 0.3.59 or newer for DiT models (Flux, SD3, ...): this ComfyUI has no "
            "optimized_attention_override. Update ComfyUI, or use PLADIS on a UNet model."
        )
