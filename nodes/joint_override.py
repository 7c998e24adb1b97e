"""The ``optimized_attention_override`` PLADIS installs on DiTs: PLADIS on the selected text attentions (as the
model call's ``JointForward`` classifies them), every other call through unchanged (or the override it chains)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch

from ..pladis_core.alpha_entmax import compute_dtype
from ..pladis_core.cross_attention import pladis_attention_heads
from ..pladis_core.joint_attention import (
    additive_mask,
    cpu_kernel_for_plain_backend,
    keys_for_default_scale,
    logsumexp_over_keys,
    mask_for_heads,
    pladis_joint_attention,
    sdpa_with_logsumexp,
)
from .attention_call import AttentionArgs, batch_rows, keys_in_order, plain_tensor, queries_in_order
from .joint_forward import FORWARD_KEY, JointCall
from .layer_selection import Site
from .step_range import SigmaRange

# ComfyUI backends verified to accept q/k/v padded to another head dim (the text-mass column rides along).
PADDING_SAFE_BACKENDS = frozenset({"attention_basic", "attention_sub_quad", "attention_split", "attention_pytorch"})


@dataclass(eq=False, repr=False)
class PladisJointAttention:
    """The ``optimized_attention_override``: PLADIS on the selected text attentions, pass-through otherwise
    (``previous``: the override it chains, for the dense attention)."""

    alpha: float
    scale: float
    step_range: SigmaRange
    selected: frozenset[Site]
    previous: Callable | None = None

    def __call__(self, func: Callable, *args: Any, **kwargs: Any) -> Any:
        args = tuple(plain_tensor(t) for t in args[:3]) + args[3:]
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
            kernel = cpu_kernel_for_plain_backend(a.q, a.v, additive_mask(a.mask, a.q.dtype), a.softmax_scale)
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
