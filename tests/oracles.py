"""Float64 reference implementations: the formulas written naively, α-entmax from the ``entmax`` package."""

from __future__ import annotations

import entmax as entmax_package
import torch


def entmax_reference(logits: torch.Tensor, alpha: float) -> torch.Tensor:
    x = logits.double()
    if alpha == 1.5:
        return entmax_package.entmax15(x, dim=-1)
    if alpha == 2.0:
        return entmax_package.sparsemax(x, dim=-1)
    return entmax_package.entmax_bisect(x, alpha, dim=-1, n_iter=200)


def split_heads(t: torch.Tensor, heads: int) -> torch.Tensor:
    b, n, c = t.shape
    return t.double().view(b, n, heads, c // heads).transpose(1, 2)


def pladis_reference(q, k, v, heads: int, alpha: float, scale: float) -> torch.Tensor:
    """A = softmax(Z) + λ·(entmax(Z) − softmax(Z)), out = A·V, all in float64; layout (B, N, heads·d)."""
    qh, kh, vh = (split_heads(t, heads) for t in (q, k, v))
    logits = qh @ kh.transpose(-1, -2) / qh.shape[-1] ** 0.5
    dense = logits.softmax(dim=-1)
    weights = dense + scale * (entmax_reference(logits, alpha) - dense)
    out = weights @ vh
    return out.transpose(1, 2).reshape(q.shape[0], q.shape[1], -1)


def sd_like_qkv(batch=2, n_query=64, heads=4, dim_head=16, n_key=77, dtype=torch.float32, seed=0):
    """Peaked rows like SD cross-attention: one BOS-like key with large logits, the rest spread."""
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(batch, n_query, heads * dim_head, generator=g) * 1.6
    k = torch.randn(batch, n_key, heads * dim_head, generator=g)
    k[:, 0] *= 3.0
    v = torch.randn(batch, n_key, heads * dim_head, generator=g)
    return q.to(dtype), k.to(dtype), v.to(dtype)


def joint_weights_reference(q, k, v, text, image: slice, alpha: float, scale: float, bias=None):
    """The issue's joint formula, naively in float64: the full (B, H, L, L) weights A of one joint attention.
    ``text``: a slice, or the text keys' positions (a LongTensor) where other tokens sit among them."""
    q, k = q.double(), k.double()
    logits = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5
    if bias is not None:
        logits = logits + bias.double()
    dense = logits.softmax(dim=-1)
    weights = dense.clone()
    block = dense[..., image, text]
    mass = block.sum(dim=-1, keepdim=True)
    weights[..., image, text] = block + scale * (mass * entmax_reference(logits[..., image, text], alpha) - block)
    return weights


def joint_reference(q, k, v, text: slice, image: slice, alpha: float, scale: float, bias=None):
    return joint_weights_reference(q, k, v, text, image, alpha, scale, bias) @ v.double()


def joint_qkv(batch=1, heads=2, n_text=7, n_image=24, n_ref=0, dim_head=16, dtype=torch.float32, seed=0):
    """A text-first joint sequence [text | image | reference] with peaked text attention."""
    g = torch.Generator().manual_seed(seed)
    length = n_text + n_image + n_ref
    q = torch.randn(batch, heads, length, dim_head, generator=g) * 1.5
    k = torch.randn(batch, heads, length, dim_head, generator=g)
    k[:, :, 0] *= 2.5
    v = torch.randn(batch, heads, length, dim_head, generator=g)
    return q.to(dtype), k.to(dtype), v.to(dtype)


def aggregate(weights: torch.Tensor, word_keys) -> torch.Tensor:
    """(B, H, Nq, Nk) weights → (B, words, Nq): each word's keys summed, then the mean over heads."""
    return torch.stack([weights[..., sorted(set(keys))].sum(-1).mean(1) for keys in word_keys], dim=1)


def cross_reference(q, k, word_keys, alpha, scale, bias=None):
    """The word maps (dense, α-entmax, PLADIS mix) of cross-attention, in float64."""
    logits = q.double() @ k.double().transpose(-1, -2) / q.shape[-1] ** 0.5
    if bias is not None:
        logits = logits + bias.double()
    dense, sparse = logits.softmax(-1), entmax_reference(logits, alpha)
    mixed = dense + scale * (sparse - dense)
    return tuple(aggregate(w, word_keys) for w in (dense, sparse, mixed))  # (dense, sparse, pladis) maps
