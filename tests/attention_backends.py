"""Stand-ins of ComfyUI's basic, split, sub-quadratic and PyTorch attention backends, written for the tests.

They read their inputs as ComfyUI's backends do (reshaping by the head count they are given, expanding masks to
that head count, honouring ``scale`` and ``enable_gqa``), so that a call with the wrong head count fails with them
as it does in ComfyUI. (The simpler ``tests/fakes/comfy/ldm/modules/attention.py`` is what the pack imports.)
"""

import math

import torch
import torch.nn.functional as F


def _as_heads(t, b, heads, dim_head, skip_reshape):
    """(B·heads, L, dim_head) with the head count given, as ComfyUI's backends reshape their inputs."""
    if skip_reshape:
        return t.reshape(b * heads, -1, dim_head)
    return t.reshape(b, -1, heads, dim_head).transpose(1, 2).reshape(b * heads, -1, dim_head)


def _backend_inputs(q, k, v, heads, skip_reshape, kwargs):
    b, dim_head = q.shape[0], q.shape[-1] if skip_reshape else q.shape[-1] // heads
    key_heads = heads
    if kwargs.get("enable_gqa", False):
        key_heads = k.shape[1] if skip_reshape else k.shape[-1] // dim_head
    q = _as_heads(q, b, heads, dim_head, skip_reshape)
    k, v = (_as_heads(t, b, key_heads, dim_head, skip_reshape) for t in (k, v))
    if key_heads != heads:
        k, v = (t.unflatten(0, (b, key_heads)).repeat_interleave(heads // key_heads, 1).flatten(0, 1) for t in (k, v))
    return q, k, v, b, dim_head


def _additive_per_head(mask, b, heads):
    """An additive mask (Lq|1, Lk), (B, Lq|1, Lk) or (B, H|1, Lq|1, Lk) as (B·heads, Lq|1, Lk)."""
    batch = 1 if mask.dim() == 2 else mask.shape[0]
    mask = mask.reshape(batch, -1, mask.shape[-2], mask.shape[-1]).expand(b, heads, -1, -1)
    return mask.reshape(-1, mask.shape[-2], mask.shape[-1])


def _precision(attn_precision, dtype):
    return torch.float32 if attn_precision == torch.float32 else dtype


def _finish(out, b, heads, dim_head, skip_output_reshape):
    out = out.reshape(b, heads, -1, dim_head)
    return out if skip_output_reshape else out.transpose(1, 2).reshape(b, -1, heads * dim_head)


def attention_basic(
    q, k, v, heads, mask=None, attn_precision=None, skip_reshape=False, skip_output_reshape=False, **kw
):
    q, k, v, b, dim_head = _backend_inputs(q, k, v, heads, skip_reshape, kw)
    work = _precision(attn_precision, q.dtype)
    scores = torch.bmm(q.to(work), k.to(work).transpose(1, 2)) * kw.get("scale", dim_head**-0.5)
    if mask is not None:
        if mask.dtype == torch.bool:  # ComfyUI's basic backend reads a bool mask as one row of keys per element
            keep = mask.reshape(mask.shape[0], -1).repeat_interleave(heads, 0)[:, None]
            scores = scores.masked_fill(~keep, -torch.finfo(scores.dtype).max)
        else:
            scores = scores + _additive_per_head(mask, b, heads)
    return _finish(torch.bmm(scores.softmax(-1).to(v.dtype), v), b, heads, dim_head, skip_output_reshape)


def attention_split(
    q, k, v, heads, mask=None, attn_precision=None, skip_reshape=False, skip_output_reshape=False, **kw
):
    q, k, v, b, dim_head = _backend_inputs(q, k, v, heads, skip_reshape, kw)
    out = torch.zeros(q.shape[0], q.shape[1], v.shape[2], dtype=q.dtype)
    mask = None if mask is None else _additive_per_head(mask, b, heads)
    step = max(1, q.shape[1] // 3)
    for i in range(0, q.shape[1], step):
        work = _precision(attn_precision, q.dtype)
        scores = torch.bmm(q[:, i : i + step].to(work), k.to(work).transpose(1, 2)) * kw.get("scale", dim_head**-0.5)
        if mask is not None:
            scores = scores + (mask if mask.shape[1] == 1 else mask[:, i : i + step])
        out[:, i : i + step] = torch.bmm(scores.softmax(-1).to(v.dtype), v)
    return _finish(out, b, heads, dim_head, skip_output_reshape)


def attention_sub_quad(
    query, key, value, heads, mask=None, attn_precision=None, skip_reshape=False, skip_output_reshape=False, **kw
):
    """Query chunks × key chunks with a running log-sum-exp; the keys transposed, (B·heads, D, Lk)."""
    dim_head = query.shape[-1] if skip_reshape else query.shape[-1] // heads
    if "scale" in kw:
        query = query * (kw["scale"] * dim_head**0.5)
    q, k, v, b, dim_head = _backend_inputs(query, key, value, heads, skip_reshape, kw)
    work = _precision(attn_precision, q.dtype)
    keys_t = k.transpose(1, 2).to(work) * dim_head**-0.5
    mask = None if mask is None else _additive_per_head(mask, b, heads)
    out = torch.empty(q.shape[0], q.shape[1], v.shape[2], dtype=q.dtype)
    q_chunk, k_chunk = max(1, q.shape[1] // 2), max(1, k.shape[1] // 3)
    for i in range(0, q.shape[1], q_chunk):
        total = torch.full((q.shape[0], min(q_chunk, q.shape[1] - i), 1), -math.inf, dtype=work)
        acc = torch.zeros(q.shape[0], total.shape[1], v.shape[2], dtype=work)
        for j in range(0, k.shape[1], k_chunk):
            scores = torch.bmm(q[:, i : i + q_chunk].to(work), keys_t[:, :, j : j + k_chunk])
            if mask is not None:
                rows = mask if mask.shape[1] == 1 else mask[:, i : i + q_chunk]
                scores = scores + rows[:, :, j : j + k_chunk]
            chunk_total = scores.logsumexp(-1, keepdim=True)
            new_total = torch.logaddexp(total, chunk_total)
            weights = (scores - new_total).exp()
            acc = acc * (total - new_total).exp() + torch.bmm(weights, v[:, j : j + k_chunk].to(work))
            total = new_total
        out[:, i : i + q_chunk] = acc.to(q.dtype)
    return _finish(out, b, heads, dim_head, skip_output_reshape)


def attention_pytorch(
    q, k, v, heads, mask=None, attn_precision=None, skip_reshape=False, skip_output_reshape=False, **kw
):
    b = q.shape[0]
    if not skip_reshape:
        dim_head = q.shape[-1] // heads
        key_heads = k.shape[-1] // dim_head if kw.get("enable_gqa", False) else heads
        q = q.view(b, -1, heads, dim_head).transpose(1, 2)
        k, v = (t.view(b, -1, key_heads, dim_head).transpose(1, 2) for t in (k, v))
    if mask is not None:
        mask = mask[None] if mask.dim() == 2 else mask
        mask = mask[:, None] if mask.dim() == 3 else mask
    extra = {name: kw[name] for name in ("scale", "enable_gqa") if name in kw}
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, **extra)
    return out if skip_output_reshape else out.transpose(1, 2).reshape(b, -1, out.shape[1] * out.shape[-1])


def _checked(backends: dict) -> dict:
    """The stand-ins are ordinary attention (SDPA's result to 1e-12 in float64, with a mask and a scale), and given
    the wrong head count the reshaping ones fail as ComfyUI's do: checked once, when the tests import them."""
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 10, 8, dtype=torch.float64, generator=g) for _ in range(3))
    mask = torch.zeros(2, 1, 10, 10, dtype=torch.float64)
    mask[0, :, :, 6:] = -math.inf
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=0.2)
    for name, backend in backends.items():
        out = backend(q, k, v, 3, mask=mask, skip_reshape=True, skip_output_reshape=True, scale=0.2)
        torch.testing.assert_close(out, expected, atol=1e-12, rtol=0, msg=lambda m, name=name: f"{name}: {m}")
        if name != "attention_pytorch":
            try:
                backend(q, k, v, 4, skip_reshape=True, skip_output_reshape=True)
            except RuntimeError:
                continue
            raise AssertionError(f"{name} accepted the wrong head count; ComfyUI's raises")
    return backends


BACKENDS = _checked({f.__name__: f for f in (attention_basic, attention_split, attention_sub_quad, attention_pytorch)})
