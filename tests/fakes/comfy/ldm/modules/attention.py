"""Stand-in for ``comfy.ldm.modules.attention``: ``optimized_attention`` with the override hook of ``wrap_attn``."""

import torch.nn.functional as F

calls = {"optimized_attention": 0}


def _sdpa(q, k, v, heads, mask=None, attn_precision=None, skip_reshape=False, skip_output_reshape=False, **kwargs):
    b = q.shape[0]
    if not skip_reshape:
        q, k, v = (t.view(b, -1, heads, t.shape[-1] // heads).transpose(1, 2) for t in (q, k, v))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    if skip_output_reshape:
        return out
    return out.transpose(1, 2).reshape(b, -1, out.shape[1] * out.shape[-1])


def optimized_attention(q, k, v, heads, **kwargs):
    calls["optimized_attention"] += 1
    options = kwargs.get("transformer_options")
    if "_inside_attn_wrapper" not in kwargs and options is not None and "optimized_attention_override" in options:
        return options["optimized_attention_override"](_sdpa, q, k, v, heads, _inside_attn_wrapper=True, **kwargs)
    kwargs.pop("_inside_attn_wrapper", None)
    return _sdpa(q, k, v, heads, **kwargs)
