"""The part of sampling where PLADIS is on, as a sigma interval read from ``transformer_options``."""

from __future__ import annotations

from typing import Any

import torch


class SigmaRange:
    """On while sigma_end ≤ σ ≤ sigma_start, σ being the current step's sigma.

    ComfyUI passes the step's sigmas (one per latent) as ``transformer_options["sigmas"]``; the same tensor
    object serves every layer of one model call, so the comparison (a host sync on GPUs) is made once per
    call and remembered. Compiled code asks ``inside`` instead: ComfyUI's TorchCompileModel skips dynamo's
    guards on transformer_options, so a Python branch on their content would be fixed at the first compile.
    """

    def __init__(self, sigma_start: float, sigma_end: float, whole_schedule: bool) -> None:
        self.sigma_start = sigma_start
        self.sigma_end = sigma_end
        self.whole_schedule = whole_schedule
        self._last: tuple[Any, bool] | None = None

    def __deepcopy__(self, memo: dict) -> SigmaRange:
        return SigmaRange(self.sigma_start, self.sigma_end, self.whole_schedule)

    def contains(self, transformer_options: dict) -> bool:
        if self.whole_schedule:
            return True
        sigmas = transformer_options.get("sigmas")
        if sigmas is None:
            return True
        last = self._last
        if last is not None and last[0] is sigmas:
            return last[1]
        sigma = float(sigmas.reshape(-1)[0])
        inside = self.sigma_end <= sigma <= self.sigma_start
        self._last = (sigmas, inside)
        return inside

    def inside(self, transformer_options: dict) -> torch.Tensor | None:
        """``contains`` as a bool tensor on the sigmas' device, decided when the code runs, without a host
        sync; None where PLADIS is on whatever the step (the whole schedule, or no sigmas given)."""
        if self.whole_schedule:
            return None
        sigmas = transformer_options.get("sigmas")
        if sigmas is None:
            return None
        sigma = sigmas.reshape(-1)[0]
        if sigma.device.type != "mps":  # compare in double, as ``contains`` does (MPS has no float64)
            sigma = sigma.double()
        return (sigma >= self.sigma_end) & (sigma <= self.sigma_start)
