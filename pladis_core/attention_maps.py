"""Image → text attention maps per prompt word: dense softmax, α-entmax and PLADIS's mix, side by side.

For one attention call with logits Z_T = Q·K_Tᵀ·s on the call's text keys T (s = 1/√d unless given), each
image-query row r has the three weight rows PLADIS works with:

    dense[r]  = m_r·softmax(Z_T[r])
    sparse[r] = m_r·α-entmax(Z_T[r])
    pladis[r] = dense[r] + λ·(sparse[r] − dense[r])                               (PLADIS eq. 15)

m_r is the row's dense mass on the text keys: 1 in cross-attention (the keys are all text); in joint
attention the full softmax also covers the image keys, and PLADIS rescales entmax by m_r so that the row keeps
its text mass (see ``joint_attention``): the maps are then the text block of the real weights A[r, T].

A word's map at query r is its tokens' weights **summed** (the share of the row's attention that lands on the
word: sub-word pieces split one word's attention among them, so a mean would shrink a word for being split),
then **averaged over heads**. The three maps are linear in the weights, so the PLADIS map is mixed after that
aggregation: λ = 0 gives a PLADIS map identical to the dense one, bit for bit.

``MapAccumulator`` sums those per-call maps over calls, layers and steps, per query grid (resolution), in
float64, and upsamples the mean to the latent grid (bilinear): its memory is a word × grid map per
resolution, whatever the number of steps.

Memory: the queries are processed in chunks so that the scores, both maps and the solver's buffers of one
chunk stay within ``memory_budget`` bytes (beyond q, k and the returned maps).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F

from .alpha_entmax import check_alpha, compute_dtype, finite_row_max, unnormalized_entmax

__all__ = ["MEMORY_BUDGET", "MapAccumulator", "WordMaps", "word_attention_maps", "word_selection"]

# Extra bytes one call may hold at once: half of the 64 MiB bound at SDXL 1024², the rest is margin.
MEMORY_BUDGET = 32 << 20
# (B, H, n, 1) row vectors the entmax solver and the text mass keep alive per chunk, counted generously.
ROW_TEMPORARIES = 16


class WordMaps(NamedTuple):
    """Per-word maps, each (B, words, ...) in float32 or wider: the dense softmax, α-entmax and PLADIS's mix."""

    dense: torch.Tensor
    sparse: torch.Tensor
    pladis: torch.Tensor


def word_selection(word_keys: Sequence[Sequence[int]], n_key: int, dtype: torch.dtype, device) -> torch.Tensor:
    """(n_key, words) 0/1 matrix: column w is 1 on the keys of word w (a key listed twice counts once)."""
    if not word_keys:
        raise ValueError("no words to map: word_keys is empty")
    selection = torch.zeros(n_key, len(word_keys), dtype=dtype, device=device)
    for w, keys in enumerate(word_keys):
        if not keys:
            raise ValueError(f"word {w} has no keys")
        index = torch.as_tensor(sorted(set(keys)), dtype=torch.long)
        if int(index.min()) < 0 or int(index.max()) >= n_key:
            raise ValueError(f"word {w} has key indices outside 0..{n_key - 1}: {index.tolist()}")
        selection[index.to(device), w] = 1
    return selection


def _rows_per_chunk(batch: int, heads: int, dim: int, n_key: int, n_words: int, itemsize: int, budget: int) -> int:
    """Query rows per chunk: the q copy, scores, softmax, entmax and its scratch, the word sums and the row
    temporaries of that many rows fit in ``budget`` after the keys and the selection matrix."""
    fixed = (batch * heads * dim * n_key + n_key * n_words) * itemsize
    per_row = batch * heads * (dim + 4 * n_key + 2 * n_words + ROW_TEMPORARIES) * itemsize
    rows = (budget - fixed) // per_row
    if rows < 1:
        raise ValueError(f"memory_budget {budget} bytes is too small for one query row ({fixed + per_row} bytes)")
    return int(rows)


def word_attention_maps(
    q: torch.Tensor,
    k: torch.Tensor,
    word_keys: Sequence[Sequence[int]],
    alpha: float,
    scale: float,
    *,
    text_mass: torch.Tensor | None = None,
    total_logsumexp: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    key_repeats: torch.Tensor | None = None,
    softmax_scale: float | None = None,
    memory_budget: int = MEMORY_BUDGET,
) -> WordMaps:
    """The word maps of one attention call; each map is (B, words, Nq), averaged over heads.

    q (B, H, Nq, d) are the image queries, k (B, H, Nk, d) the call's text keys only; ``word_keys[w]`` lists
    the key indices (into k's Nk) of word w's tokens. α, λ (``scale``) as in PLADIS.

    Joint attention: give each row's dense mass on the text keys, ``text_mass`` (B, H, Nq), or its
    log-sum-exp over all the call's keys, ``total_logsumexp`` (B, H, Nq), from which the mass follows; without
    either, m_r = 1 (cross-attention). ``bias`` is an additive mask on the text keys broadcastable to
    (B, H, Nq, Nk); ``key_repeats`` (B,) the repeat counts the engine was given (``pladis_attention``): the
    entmax map is then the engine's, whose copies of a key share its weight. A row the mask hides
    entirely gives zeros.
    """
    check_alpha(alpha)
    if text_mass is not None and total_logsumexp is not None:
        raise ValueError("give text_mass or total_logsumexp, not both")
    batch, heads, n_query, dim = q.shape
    n_key = k.shape[2]
    dtype = compute_dtype(q.dtype)
    itemsize = torch.finfo(dtype).bits // 8
    selection = word_selection(word_keys, n_key, dtype, q.device)
    n_words = selection.shape[1]
    keys_t = k.to(dtype).transpose(-1, -2) * (dim**-0.5 if softmax_scale is None else softmax_scale)
    repeats = 1.0 if key_repeats is None else key_repeats.to(device=q.device, dtype=dtype).view(batch, 1, 1, 1)
    if bias is not None:
        bias = bias.to(dtype).reshape((1,) * (4 - bias.dim()) + tuple(bias.shape))

    dense_map = torch.empty(batch, n_words, n_query, dtype=dtype, device=q.device)
    sparse_map = torch.empty_like(dense_map)
    rows = _rows_per_chunk(batch, heads, dim, n_key, n_words, itemsize, memory_budget)
    for start in range(0, n_query, rows):
        stop = min(n_query, start + rows)
        scores = torch.matmul(q[:, :, start:stop].to(dtype), keys_t)
        if bias is not None:
            scores.add_(bias[..., start:stop, :] if bias.shape[-2] > 1 else bias)
        row_max = finite_row_max(scores)
        sparse, factor = unnormalized_entmax(scores, row_max, alpha, repeats)
        if total_logsumexp is None:
            dense = torch.softmax(scores, dim=-1)
            mass = None if text_mass is None else text_mass[:, :, start:stop, None].to(dtype)
        else:
            # The text block of the full softmax, exp(Z_T − logsumexp over all keys), and its row sum.
            dense = scores.sub_(total_logsumexp[:, :, start:stop, None].to(dtype)).exp_()
            mass = dense.sum(dim=-1, keepdim=True)
        del scores
        dense_words = torch.matmul(dense, selection)
        del dense
        sparse_words = torch.matmul(sparse, selection).mul_(factor)
        del sparse
        if mass is not None:
            if text_mass is not None:
                dense_words.mul_(mass)
            sparse_words.mul_(mass)
        dense_map[:, :, start:stop] = dense_words.nan_to_num_(nan=0.0).mean(dim=1).transpose(1, 2)
        sparse_map[:, :, start:stop] = sparse_words.nan_to_num_(nan=0.0).mean(dim=1).transpose(1, 2)
    return WordMaps(dense_map, sparse_map, dense_map + scale * (sparse_map - dense_map))


class MapAccumulator:
    """Sums per-call word maps per query grid and gives their mean on the latent grid.

    ``add`` takes one call's WordMaps (B, words, h·w) and its query grid (h, w); every call counts once
    (``weight`` to count it otherwise). ``latent_maps(size)`` upsamples each grid's sum bilinearly to ``size``
    and divides by the total weight: the mean over all recorded calls of the maps upsampled to the latent
    grid (upsampling is linear, so this is exact). Sums are float64: the result does not depend on the order
    of the calls beyond float64 rounding.
    """

    def __init__(self) -> None:
        self.sums: dict[tuple[int, int], torch.Tensor] = {}
        self.total_weight = 0.0
        self.shape: tuple[int, int] | None = None  # (batch, words), fixed by the first call

    @property
    def empty(self) -> bool:
        return self.total_weight == 0

    def add(self, maps: WordMaps, grid: tuple[int, int], weight: float = 1.0) -> None:
        height, width = grid
        stacked = torch.stack(tuple(maps)).to(torch.float64)
        three, batch, n_words, n_query = stacked.shape
        if n_query != height * width:
            raise ValueError(f"maps have {n_query} queries, grid {height}×{width} has {height * width}")
        if self.shape not in (None, (batch, n_words)):
            raise ValueError(f"maps of {batch} images × {n_words} words, recorded before: {self.shape}")
        self.shape = (batch, n_words)
        stacked = stacked.view(three, batch, n_words, height, width)
        if grid in self.sums:
            self.sums[grid].add_(stacked, alpha=weight)
        else:
            self.sums[grid] = stacked.mul_(weight)
        self.total_weight += weight

    def latent_maps(self, size: tuple[int, int]) -> WordMaps:
        """The mean maps on the latent grid ``size`` (H, W): WordMaps of (B, words, H, W) float64 tensors."""
        if self.empty:
            raise ValueError("no attention call was recorded")
        total = None
        for sums in self.sums.values():
            three, batch, n_words = sums.shape[:3]
            flat = sums.reshape(three * batch, n_words, *sums.shape[3:])
            up = F.interpolate(flat, size=size, mode="bilinear", align_corners=False)
            total = up if total is None else total.add_(up)
        total = total.div_(self.total_weight).view(3, -1, total.shape[1], *size)
        return WordMaps(*total.unbind(0))
