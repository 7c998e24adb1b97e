"""Which implementation of the PLADIS engine runs: the fused Triton kernel or the eager PyTorch code.

``PLADIS_BACKEND`` (read on every call; under torch.compile, when the graph is traced):

- ``auto`` (default): the kernel for CUDA/ROCm tensors when Triton imports, the eager code elsewhere.
- ``triton``: the kernel wherever it can run: CUDA/ROCm tensors, and CPU tensors through Triton's interpreter
  when ``TRITON_INTERPRET=1`` was set before Triton was first imported (Triton reads it as it defines
  each kernel). Where it cannot run (CPU without the
  interpreter, MPS, XPU, no Triton) the eager code runs and the log says why, once: a diagnostic setting must
  not stop a generation.
- ``eager``: always the eager code.

Whatever the setting, what the kernel does not cover takes the eager code: more than ``FUSED_MAX_KEYS`` keys
(long contexts), head sizes above ``FUSED_MAX_HEAD_DIM``, float64, or a kernel that fails to compile on the
device at hand (logged once, then not tried again for that configuration). ``last_backend`` says what the last
engine call ran and why; ``backend_for`` what would run on a device; ``backend_log_line`` the line for a report.

The kernel is the custom op ``torch.ops.pladis.fused_attention_heads`` (``torch.library``), with a fake
implementation, so that torch.compile keeps it in the graph as one opaque call without a graph break.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import types
from typing import NamedTuple

import torch
from torch import Tensor

from .eager import eager_attention_heads
from .options import EngineOptions

__all__ = [
    "BACKEND_ENV",
    "BackendChoice",
    "backend_for",
    "backend_log_line",
    "fused_attention_heads",
    "last_backend",
    "requested_backend",
    "use_fused_kernel",
]

BACKEND_ENV = "PLADIS_BACKEND"
BACKENDS = ("auto", "triton", "eager")
TRITON, INTERPRETER, EAGER = "triton", "triton-interpreter", "eager"
# What the fused kernel keeps on chip: a whole row of keys and a whole head.
FUSED_MAX_KEYS = 1024
FUSED_MAX_HEAD_DIM = 256
FUSED_DTYPES = (torch.float16, torch.bfloat16, torch.float32)

log = logging.getLogger("pladis")


class BackendChoice(NamedTuple):
    name: str  # "triton", "triton-interpreter" or "eager"
    reason: str


_STATE_MODULE = "pladis_core_dispatch_state"


def _shared_state() -> types.ModuleType:
    """One state for every copy of this module in the process: a pack can be imported twice under different
    names (tests do), and the custom op's implementation is the last copy's registration."""
    state = sys.modules.setdefault(_STATE_MODULE, types.ModuleType(_STATE_MODULE))
    if not hasattr(state, "kernels"):
        state.kernels, state.last, state.logged, state.failed = {}, {}, set(), set()
        state.local = threading.local()
    return state


_state = _shared_state()


def requested_backend() -> str:
    """The value of PLADIS_BACKEND, ``auto`` when unset or not one of auto/triton/eager (logged once)."""
    value = os.environ.get(BACKEND_ENV, "auto").strip().lower() or "auto"
    if value not in BACKENDS:
        _log_once(f"{BACKEND_ENV} must be one of auto, triton, eager; got {value[:20]!r}, using auto")
        return "auto"
    return value


def interpreter_requested() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0").strip().lower() in ("1", "true", "on", "yes")


@torch.compiler.assume_constant_result
def kernels_available() -> bool:
    """Whether the Triton kernels import (the import happens once, on first need)."""
    return _kernel_module() is not None


def _kernel_module():
    if "module" not in _state.kernels:
        try:
            from . import triton_pladis
        except Exception as error:  # ImportError, or a Triton too old or broken for the kernels
            _state.kernels["error"] = f"{type(error).__name__}: {str(error)[:200]}"
            triton_pladis = None
        _state.kernels["module"] = triton_pladis
    return _state.kernels["module"]


def _log_once(message: str) -> None:
    if message not in _state.logged and not torch.compiler.is_compiling():
        _state.logged.add(message)
        log.warning("PLADIS: %s", message)


def _configuration(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, out: torch.Tensor) -> tuple:
    """What a compiled kernel depends on, to remember the configurations that failed."""
    return (q.device.type, q.dtype, v.dtype, out.dtype, max(16, 1 << (k.shape[2] - 1).bit_length()), q.shape[-1])


def _shape_support(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, out: torch.Tensor) -> str | None:
    """None when the kernel covers these operands, else why not."""
    if k.shape[2] > FUSED_MAX_KEYS:
        return f"{k.shape[2]} keys > {FUSED_MAX_KEYS} (long context)"
    if max(q.shape[-1], v.shape[-1]) > FUSED_MAX_HEAD_DIM:
        return f"head size > {FUSED_MAX_HEAD_DIM}"
    if any(t.dtype not in FUSED_DTYPES for t in (q, k, v, out)) or q.dtype != k.dtype:
        return "dtype not covered by the kernel"
    if q.shape[0] * q.shape[1] > 65535:  # the grid's second axis
        return "more than 65535 batch × heads"
    if any(_slice_span(t) >= 2**31 for t in (q, k, v, out)):  # the kernel's 32-bit offsets inside a head
        return "a head's slice spans 2^31 elements or more"
    return None


def _slice_span(t) -> int:
    """The largest element offset inside one (batch, head) slice of t."""
    return sum((size - 1) * abs(stride) for size, stride in zip(t.shape[2:], t.stride()[2:], strict=True))


def _choose(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, out: torch.Tensor) -> BackendChoice:
    requested = getattr(_state.local, "forced", None) or requested_backend()
    if requested == "eager":
        return BackendChoice(EAGER, f"{BACKEND_ENV}=eager")
    device = q.device.type
    interpreted = requested == "triton" and device == "cpu" and interpreter_requested()
    if device != "cuda" and not interpreted:
        if requested == "triton":
            _log_once(
                f"{BACKEND_ENV}=triton, but the kernel runs on CUDA/ROCm tensors only (on CPU with "
                f"TRITON_INTERPRET=1); {device} tensors take the eager path"
            )
        return BackendChoice(EAGER, f"{device} tensors")
    if not kernels_available():
        message = f"Triton kernels unavailable ({_state.kernels.get('error', 'no triton')}); eager path"
        if requested == "triton":
            _log_once(message)
        return BackendChoice(EAGER, message)
    unsupported = _shape_support(q, k, v, out)
    if unsupported is not None:
        return BackendChoice(EAGER, unsupported)
    if _configuration(q, k, v, out) in _state.failed:
        return BackendChoice(EAGER, "the kernel failed for this configuration earlier")
    return BackendChoice(INTERPRETER if interpreted else TRITON, f"{BACKEND_ENV}={requested}, {device} tensors")


def use_fused_kernel(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, out: torch.Tensor) -> bool:
    """The engine's dispatch: whether ``pladis_attention_heads`` hands these operands to the kernel."""
    choice = _choose(q, k, v, out)
    _state.last["engine"] = choice
    return choice.name != EAGER


def last_backend() -> BackendChoice | None:
    """What the last engine call ran and why (None before the first call)."""
    return _state.last.get("engine")


def backend_for(device: torch.device | str, dtype: torch.dtype = torch.float16) -> BackendChoice:
    """What would run for an SDXL-sized cross-attention (77 keys, head size 64) on ``device``; records nothing."""
    device = torch.device(device)
    q = _Operand((1, 1, 1, 64), dtype, device)
    k = _Operand((1, 1, 77, 64), dtype, device)
    return _choose(q, k, k, q)


class _Operand(NamedTuple):
    """What ``_choose`` reads of a tensor, to ask about a device without allocating on it."""

    shape: tuple[int, ...]
    dtype: torch.dtype
    device: torch.device

    def stride(self) -> tuple[int, ...]:
        return torch.empty(self.shape, device="meta").stride()


def backend_log_line(device: torch.device | str | None = None) -> str:
    """One line for the run report: what the last call ran, or what would run on ``device``; and, once the
    kernel failed to compile in this process, that notice."""
    choice = last_backend() if device is None else backend_for(device)
    notice = _state.kernels.get("compile_notice")
    if choice is None:
        return "PLADIS engine: not run yet" + (f"; {notice}" if notice else "")
    names = {TRITON: "fused Triton kernel", INTERPRETER: "fused Triton kernel (interpreter)", EAGER: "eager PyTorch"}
    line = f"PLADIS engine: {names[choice.name]} ({choice.reason})"
    return line if notice is None or notice == choice.reason else f"{line}; {notice}"


def _kernel_failure_notice(module, error: Exception) -> str:
    """Logs why the kernel launch failed, the first compile error once per process as a user notice; the reason."""
    detail = f"{type(error).__name__}: {' '.join(str(error).split())[:240]}"
    if not module.is_compile_error(error):
        _log_once(f"the Triton kernel failed ({detail}); eager path instead")
        return f"kernel failed: {type(error).__name__}"
    notice = f"Triton {module.TRITON_VERSION} could not compile the PLADIS kernel ({detail}); "
    notice += "using the slower PyTorch path"
    if "compile_notice" not in _state.kernels:
        _state.kernels["compile_notice"] = notice
        _log_once(notice)
    return _state.kernels["compile_notice"]


@contextlib.contextmanager
def forced_backend(name: str):
    """Within the block, this thread's engine calls take ``name`` (auto/triton/eager) whatever PLADIS_BACKEND says."""
    previous = getattr(_state.local, "forced", None)
    _state.local.forced = name
    try:
        yield
    finally:
        _state.local.forced = previous


@torch.library.custom_op("pladis::fused_attention_heads", mutates_args=("out",))
def _fused_attention_heads_op(
    q: Tensor, k: Tensor, v: Tensor, alpha: float, scale: float, out: Tensor, include_dense: bool,
    key_repeats: Tensor | None, bias: Tensor | None, row_scale: Tensor | None, total_logsumexp: Tensor | None,
    accumulate: bool,
) -> None:  # fmt: skip
    # A custom op takes tensors and plain values only: the options come flat, in EngineOptions' order.
    options = EngineOptions(include_dense, key_repeats, bias, row_scale, total_logsumexp, accumulate)
    module = _kernel_module()
    try:
        module.pladis_attention_heads_fused(q, k, v, alpha, scale, out=out, **options.kernel_arguments())
        return
    except Exception as error:  # a configuration the device cannot compile (resources): correct path instead
        _state.failed.add(_configuration(q, k, v, out))
        reason = _kernel_failure_notice(module, error)
    eager_attention_heads(q, k, v, alpha, scale, out, options)
    _state.last["engine"] = BackendChoice(EAGER, reason)


@_fused_attention_heads_op.register_fake
def _(q, k, v, alpha, scale, out, *options) -> None:
    return None


def fused_attention_heads(
    q: Tensor, k: Tensor, v: Tensor, alpha: float, scale: float, out: Tensor, options: EngineOptions
) -> Tensor:
    """The engine call through the kernel's custom op (``cross_attention.pladis_attention_heads``'s arguments,
    its options as one ``EngineOptions``); returns ``out``."""
    key_repeats = options.key_repeats
    if key_repeats is not None:
        key_repeats = key_repeats.to(device=q.device, dtype=torch.float32)
    flat = options._replace(key_repeats=key_repeats)[:-1]  # all but chunk_scores, in the op's order
    torch.ops.pladis.fused_attention_heads(q, k, v, float(alpha), float(scale), out, *flat)
    return out
