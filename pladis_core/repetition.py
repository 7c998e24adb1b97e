"""How many times each batch element's keys repeat one period.

ComfyUI batches a positive and a negative prompt of different lengths by repeating the shorter context
until both have the same length (``CONDCrossAttn.concat``). Softmax does not see the difference; α-entmax
does, so PLADIS corrects for it (see ``entmax.target_mass``). The repeat count is read off the keys
themselves, on the device and without a host synchronisation.
"""

from __future__ import annotations

import torch

__all__ = ["key_repeat_counts"]


def _relative_tolerance(dtype: torch.dtype) -> float:
    # Identical context rows give identical projected rows up to the GEMM's rounding; distinct prompt
    # chunks differ by O(1) of the keys' magnitude.
    return 1e-3 if dtype in (torch.float32, torch.float64) else 3e-2


def key_repeat_counts(k: torch.Tensor) -> torch.Tensor:
    """For keys ``k`` of shape (B, N, C): m[b] = the largest m with k[b] = m copies of its first N/m rows.

    Returns a float tensor of shape (B,) on ``k``'s device; 1 where the keys do not repeat.
    """
    batch, length = k.shape[0], k.shape[1]
    counts = torch.ones(batch, dtype=torch.float32, device=k.device)
    if length < 2:
        return counts
    scale = k.detach().abs().flatten(1).amax(dim=1).float()
    tolerance = _relative_tolerance(k.dtype) * scale
    # Larger repeat counts (shorter periods) are tested last so they win where several hold.
    for repeats in range(2, length + 1):
        if length % repeats:
            continue
        period = length // repeats
        gap = (k[:, period:] - k[:, :-period]).abs().flatten(1).amax(dim=1).float()
        counts = torch.where(gap <= tolerance, float(repeats), counts)
    return counts
