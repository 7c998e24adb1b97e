"""What one call of the PLADIS engine computes beyond q, k, v, α and λ: one options object for every engine."""

from __future__ import annotations

from typing import NamedTuple

import torch

__all__ = ["EngineOptions"]


class EngineOptions(NamedTuple):
    """The engine's options (``cross_attention.pladis_attention_heads`` documents each one).

    A NamedTuple, so that torch.compile traces it as plain values.
    """

    include_dense: bool = True
    key_repeats: torch.Tensor | None = None
    bias: torch.Tensor | None = None
    row_scale: torch.Tensor | None = None
    total_logsumexp: torch.Tensor | None = None
    accumulate: bool = False
    chunk_scores: int | None = None

    def kernel_arguments(self) -> dict:
        """The options the fused kernel takes (it holds whole rows of keys, so it has no chunks)."""
        arguments = self._asdict()
        del arguments["chunk_scores"]
        return arguments
