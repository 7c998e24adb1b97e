"""Stand-in for ``comfy.ldm.modules.attention``: backends and ``optimized_attention`` with the override hook of
``wrap_attn`` (the override gets the undecorated backend as ``func``)."""

import torch.nn.functional as F

calls = {"optimized_attention": 0}


def wrap_attn(func):  # present since ComfyUI 0.3.59; its presence is what the pack checks
    return func


def _to_heads(q, k, v, heads, skip_reshape):
    if skip_reshape:
        return q, k, v
    b = q.shape[0]
    return (t.view(b, -1, heads, t.shape[-1] // heads).transpose(1, 2) for t in (q, k, v))


def _from_heads(out, skip_output_reshape):
    if skip_output_reshape:
        return out
    return out.transpose(1, 2).reshape(out.shape[0], -1, out.shape[1] * out.shape[-1])


def attention_pytorch(
    q, k, v, heads, mask=None, attn_precision=None, skip_reshape=False, skip_output_reshape=False, **kwargs
):
    q, k, v = _to_heads(q, k, v, heads, skip_reshape)
    if mask is not None and mask.dim() == 3:
        mask = mask[:, None]
    return _from_heads(F.scaled_dot_product_attention(q, k, v, attn_mask=mask), skip_output_reshape)


def attention_basic(
    q, k, v, heads, mask=None, attn_precision=None, skip_reshape=False, skip_output_reshape=False, **kwargs
):
    q, k, v = _to_heads(q, k, v, heads, skip_reshape)
    scores = q.float() @ k.float().transpose(-1, -2) * q.shape[-1] ** -0.5
    if mask is not None:
        scores = scores + (mask[:, None] if mask.dim() == 3 else mask)
    return _from_heads((scores.softmax(-1) @ v.float()).to(v.dtype), skip_output_reshape)


backend = attention_pytorch


def optimized_attention(q, k, v, heads, **kwargs):
    calls["optimized_attention"] += 1
    options = kwargs.get("transformer_options")
    if "_inside_attn_wrapper" not in kwargs and options is not None and "optimized_attention_override" in options:
        return options["optimized_attention_override"](backend, q, k, v, heads, _inside_attn_wrapper=True, **kwargs)
    kwargs.pop("_inside_attn_wrapper", None)
    return backend(q, k, v, heads, **kwargs)
