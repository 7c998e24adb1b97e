"""What a recorder records into (the words, their keys, α/λ, the step range, the accumulated maps) and the
batch arithmetic every route's recorder shares: the positive prompt's rows, repeated contexts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from ...pladis_core.attention_maps import MapAccumulator, word_attention_maps
from ..step_range import SigmaRange

# DiT families whose text keys are the prompt's tokens one to one (what the recorder maps words onto today).
ONE_TO_ONE_DIT_FAMILIES = ("Flux", "Chroma", "Wan")
SUPPORTED = "UNet models (SD1.5, SD2.x, SDXL and variants), Flux, Chroma, Wan and PixArt"
CALL_KEY = "pladis_maps_call"
RESET_KEY = "pladis_maps_reset"
PATCH_SIZES = (1, 2, 4, 8, 16, 32, 64)


class UnsupportedForMapsError(ValueError):
    """The model's attention cannot be recorded (yet): a clear error instead of an empty map."""


@dataclass(eq=False, repr=False)
class Recording:
    """What one recorder records into: the words and their text keys, the recorder's α/λ (used where the
    model has no PLADIS), its step range, and the accumulated maps of the last sampling run."""

    words: tuple[str, ...]
    word_keys: tuple[tuple[int, ...], ...]
    alpha: float
    scale: float
    step_range: SigmaRange
    family: str
    accumulator: MapAccumulator = field(default_factory=MapAccumulator)
    latent_shape: tuple[int, ...] | None = None  # the current model call's latent (B, C, [T,] H, W)
    cond_or_uncond: list | None = None  # and its batch's kinds (0 = cond), for routes without transformer_options
    recorded_calls: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def reset(self) -> None:
        self.accumulator = MapAccumulator()
        self.recorded_calls = 0
        self.skipped = {}

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def __deepcopy__(self, memo: dict) -> Recording:
        return self  # the handle the maps node reads: every clone of the model records into it

    def grid(self, n_query: int) -> tuple[int, int] | None:
        """(h, w) of the first latent frame's queries among ``n_query`` image queries, or None."""
        shape = self.latent_shape
        if shape is None or len(shape) < 4:
            side = math.isqrt(n_query)
            return (side, side) if side * side == n_query else None
        height, width = shape[-2], shape[-1]
        frames = shape[2] if len(shape) == 5 else 1
        for patch in PATCH_SIZES:
            h, w = -(-height // patch), -(-width // patch)
            if h * w == n_query or (frames > 1 and n_query % (h * w) == 0 and n_query // (h * w) <= frames):
                return h, w
        return None

    def record(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        alpha: float,
        scale: float,
        *,
        bias: torch.Tensor | None = None,
        total_logsumexp: torch.Tensor | None = None,
        softmax_scale: float | None = None,
        key_repeats: torch.Tensor | None = None,
    ) -> None:
        """Adds one call's maps: q (B, H, Nq, d) image queries, k (B, H, Nk, d) text keys (cond rows only);
        ``key_repeats`` (B,): how many copies of one period the keys are (the engine's ``key_repeat_counts``)."""
        grid = self.grid(q.shape[2])
        if grid is None:
            self.skip(f"{q.shape[2]} image queries fit no grid of the latent {self.latent_shape}")
            return
        n_first = grid[0] * grid[1]
        q = q[:, :, :n_first]
        if total_logsumexp is not None:
            total_logsumexp = total_logsumexp[:, :, :n_first]
        if bias is not None and bias.shape[-2] > 1:
            bias = bias[..., :n_first, :]
        word_keys = self.word_keys
        if key_repeats is not None and bool((key_repeats > 1).any()):
            word_keys = repeated_word_keys(word_keys, key_repeats, k.shape[2])
            if word_keys is None:
                self.skip("a context repeated to a common length in a way the words' keys do not follow")
                return
        if max(max(keys) for keys in word_keys) >= k.shape[2]:
            self.skip(f"the call has {k.shape[2]} text keys, fewer than the words' positions")
            return
        maps = word_attention_maps(
            q,
            k,
            word_keys,
            alpha,
            scale,
            bias=None if bias is None else bias[..., : k.shape[2]],
            total_logsumexp=total_logsumexp,
            key_repeats=key_repeats,
            softmax_scale=softmax_scale,
        )
        self.accumulator.add(maps, grid)
        self.recorded_calls += 1


def repeated_word_keys(
    word_keys: Sequence[Sequence[int]], repeats: torch.Tensor, n_key: int
) -> tuple[tuple[int, ...], ...] | None:
    """The words' keys in every copy of a context ComfyUI repeated to a common length (the least common multiple
    of the cond and uncond lengths: ``repeats`` copies of n_key / repeats keys, as the engine reads them off the
    keys); None where the batch's elements repeat differently or a word lies past the first copy."""
    counts = {int(c) for c in repeats.tolist()}
    if len(counts) != 1:
        return None
    (copies,) = counts
    period = n_key // copies
    if max(max(keys) for keys in word_keys) >= period:
        return None
    return tuple(tuple(key + j * period for j in range(copies) for key in keys) for keys in word_keys)


def cond_rows(batch: int, options: dict) -> slice | torch.Tensor | None:
    """The batch rows of the positive prompt (ComfyUI's ``cond_or_uncond``: 0 = cond), None if there are none."""
    kinds = options.get("cond_or_uncond")
    if not kinds:
        return slice(None)
    chunk = batch // len(kinds)
    if chunk * len(kinds) != batch:
        return slice(None)
    rows = [i * chunk + j for i, kind in enumerate(kinds) if kind == 0 for j in range(chunk)]
    if not rows:
        return None
    if rows == list(range(rows[0], rows[0] + len(rows))):
        return slice(rows[0], rows[0] + len(rows))
    return torch.tensor(rows, dtype=torch.long)


def take_rows(t: torch.Tensor | None, rows: slice | torch.Tensor, batch: int) -> torch.Tensor | None:
    if t is None or t.shape[0] != batch:
        return t
    return t[rows] if isinstance(rows, slice) else t.index_select(0, rows.to(t.device))


def split_heads(t: torch.Tensor, heads: int) -> torch.Tensor:
    return t.view(t.shape[0], t.shape[1], heads, -1).transpose(1, 2)
