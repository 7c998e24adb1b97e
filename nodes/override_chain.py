"""Overrides in ComfyUI's single ``optimized_attention_override`` slot: whether one chains another, and PLADIS's
override put back in front of a backend override a later node wrote there."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch

from .joint_override import PladisJointAttention


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
