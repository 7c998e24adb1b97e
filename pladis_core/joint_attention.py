"""PLADIS for joint attention (MM-DiT: Flux, SD3, …): only the image-query × text-key block changes.

Text and image tokens attend jointly. For an image-query row r, with dense = softmax over all keys,
m_r = Σ_{j ∈ text} dense[r, j] (the row's mass on text) and Z_T the row's logits on the text keys:

    A[r, T] = dense[r, T] + λ·(m_r·α-entmax(Z_T) − dense[r, T])

Image-key columns and the rows of text (and reference-image) queries keep the dense weights; every row still
sums to 1.

Provenance. From the official Flux pipeline (pipeline_flux.py, as quoted by the ports that read it): only the
image-query × text-key block is sharpened, with this mass-preserving renormalisation. Decisions of ours, where
the official code could not be read: text-query rows are left unchanged; the default covers single-stream
blocks as well as double-stream ones (a layer choice restricts it); reference/Kontext latents count as image
keys and their rows are left unchanged; the same block rule carries over to SD3 and Qwen-Image; the maps are
computed in float32 whatever the model dtype.

Because dense[r, T] = m_r·softmax(Z_T), the output is

    out[r] = dense_out[r] + m_r·λ·(α-entmax(Z_T) − softmax(Z_T))·V_T

so the dense output can come from any attention backend; PLADIS adds a correction that needs only the
image × text logits and m_r. m_r comes from the dense pass itself: V gets an extra column that is 1 on the
text keys, so the backend's output carries Σ_{j ∈ text} dense[r, j] in that column.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from .alpha_entmax import check_alpha, compute_dtype
from .cross_attention import pladis_attention_heads

__all__ = [
    "additive_mask",
    "cpu_kernel_for_plain_backend",
    "dense_attention_with_text_mass",
    "logsumexp_over_keys",
    "mask_for_heads",
    "pladis_joint_attention",
    "sdpa_attend",
    "sdpa_with_logsumexp",
]


# Padded head dims: one more than V's on CPU (every extra column costs); a multiple of 8 elsewhere, as fused
# GPU kernels want.
def padded_head_dim(dim: int, dim_value: int, device: torch.device) -> int:
    needed = max(dim, dim_value + 1)
    return needed if device.type == "cpu" else -(-needed // 8) * 8


# Padded copies of q, k, v and the padded output are made for this many bytes of heads at a time.
DENSE_GROUP_BYTES = 64 << 20

# attend(q, k, v, heads): plain attention of (B, h, L, D) inputs, h of the call's heads (the slice ``heads``).
Attend = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, slice], torch.Tensor]
AttendWithLogsumexp = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def additive_mask(mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """A ComfyUI attention mask as an additive (B|1, H|1, Lq|1, Lk) tensor: bool True = attend; 2-D masks are
    (Lq, Lk) and 3-D masks (B, Lq, Lk), as ComfyUI's attention backends read them."""
    if mask is None:
        return None
    if mask.dtype == torch.bool:
        mask = torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill_(~mask, float("-inf"))
    if mask.dim() == 2:
        mask = mask[None, None]
    elif mask.dim() == 3:
        mask = mask[:, None]
    return mask.to(dtype)


def mask_for_heads(mask: torch.Tensor | None, heads: slice) -> torch.Tensor | None:
    """The part of a mask that applies to some of the heads: a 4-D mask (B|1, H, Lq|1, Lk) is cut to them;
    masks without a head dimension (2-D, 3-D, or a head dimension of 1) apply to every head as they are."""
    if mask is None or mask.dim() < 4 or mask.shape[1] == 1:
        return mask
    return mask[:, heads]


def softmax_scale_or_default(softmax_scale: float | None, dim: int) -> float:
    return dim**-0.5 if softmax_scale is None else softmax_scale


def sdpa_attend(bias: torch.Tensor | None = None) -> Attend:
    """Dense attention by PyTorch's fused kernel, with an additive mask (B|1, H|1, Lq|1, Lk), at the default
    1/√D scale (as ``dense_attention_with_text_mass`` wants: its q copies carry the softmax scale)."""

    def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: slice) -> torch.Tensor:
        mask = mask_for_heads(bias, heads)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=None if mask is None else mask.to(q.dtype))

    return attend


def sdpa_with_logsumexp(
    q_device: torch.device, bias: torch.Tensor | None = None, softmax_scale: float | None = None
) -> AttendWithLogsumexp | None:
    """PyTorch's CPU flash-attention kernel, which also returns each row's log-sum-exp (None off CPU)."""
    kernel = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    if kernel is None or q_device.type != "cpu":
        return None
    return lambda q, k, v: kernel(q, k, v, attn_mask=None if bias is None else bias.to(q.dtype), scale=softmax_scale)


def cpu_kernel_for_plain_backend(
    q: torch.Tensor, v: torch.Tensor, bias: torch.Tensor | None = None, softmax_scale: float | None = None
) -> AttendWithLogsumexp | None:
    """For bfloat16 on CPU, PyTorch's flash kernel (``sdpa_with_logsumexp``) in place of a plain softmax
    attention backend (ComfyUI's basic, split and sub-quadratic ones compute nothing else), else None.

    Those backends round bfloat16 scores before the softmax (up to ~2 bf16 ulps of the output), so the dense
    pass would need float32 copies of q, k, v through them; the kernel accumulates in float32 and gives each
    row's log-sum-exp, without copies, at the CPU's bfloat16 speed. fp16 keeps the copies: PyTorch's CPU
    kernels have no fast fp16 path.
    """
    if q.device.type != "cpu" or q.dtype != torch.bfloat16 or q.shape[-1] != v.shape[-1]:
        return None
    return sdpa_with_logsumexp(q.device, bias, softmax_scale)


def logsumexp_over_keys(
    q: torch.Tensor,
    k: torch.Tensor,
    bias: torch.Tensor | None = None,
    chunk_scores: int = 1 << 22,
    softmax_scale: float | None = None,
) -> torch.Tensor:
    """Each row's log-sum-exp of q·kᵀ·s (+ bias) over all keys, (B, H, Nq) in float32 or wider, computed
    over chunks of query rows so that no full score matrix is held; s = ``softmax_scale``, 1/√d by default.
    An extra pass over the scores: the fallback for backends that give neither a log-sum-exp nor room for an
    extra V column."""
    batch, heads, n_query, dim = q.shape
    n_key = k.shape[2]
    dtype = compute_dtype(q.dtype)
    keys_t = k.transpose(-1, -2).to(dtype) * softmax_scale_or_default(softmax_scale, dim)
    # Whole rows per chunk: one GEMM reads the keys once per chunk (key chunks would re-read all of q each).
    rows = max(1, chunk_scores // max(batch * heads * n_key, 1))
    total = torch.empty((batch, heads, n_query), dtype=dtype, device=q.device)
    for start in range(0, n_query, rows):
        stop = min(n_query, start + rows)
        scores = torch.matmul(q[:, :, start:stop].to(dtype), keys_t)
        if bias is not None:
            scores += bias[..., start:stop, :] if bias.shape[-2] > 1 else bias
        total[:, :, start:stop] = torch.logsumexp(scores, dim=-1)
    return total


def dense_attention_with_text_mass(
    attend: Attend,
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    text: slice,
    out: torch.Tensor,
    dtype: torch.dtype | None = None,
    softmax_scale: float | None = None,
) -> torch.Tensor:
    """Writes dense attention of q (B, H, L, D) over k, v into ``out`` (B, H, L, Dv) and returns each row's
    softmax mass on the ``text`` keys, (B, H, L) in float32 (float64 for float64 inputs).

    ``attend(q', k', v', heads)`` is any plain attention with the default 1/√D' scale, called per group of
    heads (``heads``, a slice of the H heads) on copies padded to a common head dim D' > Dv: q' is scaled by
    s·√D', so that 1/√D' acts as the softmax scale s (``softmax_scale``, 1/√D by default), and
    V' = [V, 1 on text keys, 0]. The copies are made in ``dtype`` (default: q's, the backend's own precision;
    in half precision the scaled q' is rounded once more). Heads are processed in groups so that the copies
    stay within DENSE_GROUP_BYTES.
    """
    batch, heads, length, dim = q.shape
    n_key, dim_value = k.shape[2], v.shape[-1]
    dtype = dtype or q.dtype
    padded = padded_head_dim(dim, dim_value, q.device)
    q_scale = math.sqrt(padded / dim) if softmax_scale is None else softmax_scale * math.sqrt(padded)
    mass = torch.empty(batch, heads, length, dtype=compute_dtype(q.dtype), device=q.device)
    bytes_per_head = batch * (2 * length + 2 * n_key) * padded * torch.finfo(dtype).bits // 8
    group = max(1, min(heads, DENSE_GROUP_BYTES // max(bytes_per_head, 1)))
    # One set of buffers serves every group: fresh pages cost as much as the copies into them.
    buffers = [torch.empty(batch, group, n, padded, dtype=dtype, device=q.device) for n in (length, n_key, n_key)]
    for h0 in range(0, heads, group):
        h1 = min(heads, h0 + group)
        qp, kp, vp = (buffer[:, : h1 - h0] for buffer in buffers)
        # Scaled after the cast, so that q' is rounded once, in dtype (no ``out=`` into the strided view:
        # torch.compile cannot trace that without a graph break).
        qp[..., :dim] = q[:, h0:h1]
        qp[..., :dim] *= q_scale
        kp[..., :dim] = k[:, h0:h1]
        vp[..., :dim_value] = v[:, h0:h1]
        for t, used in ((qp, dim), (kp, dim), (vp, dim_value)):
            t[..., used:].zero_()
        vp[..., text, dim_value] = 1
        dense = attend(qp, kp, vp, slice(h0, h1))
        out[:, h0:h1] = dense[..., :dim_value]
        mass[:, h0:h1] = dense[..., dim_value]
    return mass


def keys_for_default_scale(k: torch.Tensor, softmax_scale: float | None) -> torch.Tensor:
    """Keys k' with q·k'ᵀ/√D = q·kᵀ·s: lets code that scales by 1/√D use the softmax scale s. The copy is
    made in the compute dtype (the engine computes its scores in it anyway), so it adds no rounding."""
    dim = k.shape[-1]
    if softmax_scale is None or softmax_scale == dim**-0.5:
        return k
    return k.to(compute_dtype(k.dtype)) * (softmax_scale * dim**0.5)


def pladis_joint_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    text: slice,
    image: slice,
    alpha: float = 1.5,
    scale: float = 2.0,
    *,
    attend: Attend | None = None,
    attend_with_logsumexp: AttendWithLogsumexp | None = None,
    bias: torch.Tensor | None = None,
    out: torch.Tensor | None = None,
    chunk_scores: int | None = None,
    softmax_scale: float | None = None,
) -> torch.Tensor:
    """Joint-attention PLADIS over one sequence; q, k, v are (B, H, L, D) views of any strides.

    The logits are Z = QKᵀ·s with s = ``softmax_scale`` (1/√D by default); a given ``attend`` or
    ``attend_with_logsumexp`` must use the same s.

    ``text`` and ``image`` are the token slices of the text keys and of the image queries whose rows change.
    The dense part comes from ``attend_with_logsumexp`` (dense output and each row's log-sum-exp, from which
    the text mass follows), in the inputs' dtype, else from ``attend`` (any plain attention, the text mass
    riding along as an extra V column), in the inputs' dtype on accelerators and on float32 copies on CPU. By
    default PyTorch's attention computes it in float32 or wider, with ``bias``: the additive mask (see
    ``additive_mask``) the correction uses too. Returns ``out`` (B, H, L, Dv), in v's dtype unless given.
    """
    check_alpha(alpha)
    out_dtype, work_dtype = v.dtype, q.dtype
    if attend is None and attend_with_logsumexp is None:
        # Its own dense pass in float32: the sum dense + correction is then rounded to the output dtype once.
        work_dtype = compute_dtype(q.dtype)
        attend = sdpa_attend(bias)
        if v.shape[-1] == q.shape[-1]:
            attend_with_logsumexp = sdpa_with_logsumexp(q.device, bias, softmax_scale)
        if attend_with_logsumexp is not None:
            q, k, v = (t.to(work_dtype) for t in (q, k, v))
    elif attend_with_logsumexp is None and q.device.type == "cpu":
        # ComfyUI's CPU backends round half-precision scores before the softmax: about 1% of the output off.
        # float32 copies: fewer heads per group, up to 2x the time of bfloat16 (AVX512-BF16), 1/20 of float16's.
        work_dtype = compute_dtype(q.dtype)
    result = out if out is not None and out.dtype == work_dtype else None
    if result is None:
        result = torch.empty(*q.shape[:3], v.shape[-1], dtype=work_dtype, device=v.device)

    correction = {"row_scale": None, "total_logsumexp": None}
    if attend_with_logsumexp is not None:
        dense, logsumexp = attend_with_logsumexp(q, k, v)
        result.copy_(dense)
        correction["total_logsumexp"] = logsumexp[:, :, image]
    else:
        text_mass = dense_attention_with_text_mass(attend, q, k, v, text, result, work_dtype, softmax_scale)
        correction["row_scale"] = text_mass[:, :, image, None]
    if scale > 0:
        block_bias = None
        if bias is not None:
            block_bias = (bias[..., image, :] if bias.shape[-2] > 1 else bias)[..., text]
        pladis_attention_heads(
            q[:, :, image],
            keys_for_default_scale(k[:, :, text], softmax_scale),
            v[:, :, text],
            alpha,
            scale,
            out=result[:, :, image],
            include_dense=False,
            bias=block_bias,
            accumulate=True,
            chunk_scores=chunk_scores,
            **correction,
        )
    if out is None:
        return result.to(out_dtype)
    if result is not out:
        out.copy_(result)
    return out
