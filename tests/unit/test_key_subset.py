"""pladis_core.key_subset: PLADIS over each batch element's text keys, filler keys keeping dense weights."""

import torch
from checks import assert_close, assert_equal
from oracles import joint_reference

from pladis_core.key_subset import pladis_attention_on_keys


def qkv(batch=2, heads=2, n_query=12, n_key=9, dim=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return tuple(
        torch.randn(batch, heads, n, dim, generator=g) * s for n, s in ((n_query, 1.5), (n_key, 1.0), (n_key, 1.0))
    )


def test_matches_the_joint_formula_with_each_elements_text_keys():
    q, k, v = qkv()
    text_keys = torch.tensor([[1, 1, 0, 1, 0, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1, 0]], dtype=torch.bool)
    out = pladis_attention_on_keys(q, k, v, text_keys, 1.5, 2.0)
    for b in range(2):
        order = torch.cat([text_keys[b].nonzero().flatten(), (~text_keys[b]).nonzero().flatten()])
        text = slice(0, int(text_keys[b].sum()))
        reference = joint_reference(
            q[b : b + 1], k[b : b + 1, :, order], v[b : b + 1, :, order], text, slice(0, 12), 1.5, 2.0
        )
        assert_close(out[b : b + 1].double(), reference, atol=1e-5 * reference.abs().max(), what=f"element {b}")


def test_all_keys_text_is_plain_pladis_and_no_text_keys_or_scale_zero_is_dense():
    q, k, v = qkv(batch=1)
    everything = torch.ones(1, 9, dtype=torch.bool)
    plain = joint_reference(q, k, v, slice(0, 9), slice(0, 12), 1.5, 2.0)
    assert_close(pladis_attention_on_keys(q, k, v, everything, 1.5, 2.0).double(), plain, atol=1e-5, what="all text")
    dense = torch.nn.functional.scaled_dot_product_attention(q, k, v)
    assert_close(pladis_attention_on_keys(q, k, v, ~everything, 1.5, 2.0), dense, atol=1e-6, rtol=1e-5, what="no text")
    assert_equal(pladis_attention_on_keys(q, k, v, everything, 1.5, 0.0), dense, "scale 0")
