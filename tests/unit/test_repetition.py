import pytest
import torch
from checks import assert_differ
from oracles import pladis_reference, sd_like_qkv

from pladis_core import key_repeat_counts, pladis_attention


def repeat_keys(t: torch.Tensor, times: int) -> torch.Tensor:
    """ComfyUI's CONDCrossAttn.concat padding: the context repeated along the token axis."""
    return t.repeat(1, times, 1)


@pytest.mark.parametrize("alpha", [1.5, 2.0, 1.25])
@pytest.mark.parametrize("times", [2, 3, 4])
def test_repeat_padded_context_gives_the_unrepeated_result(alpha, times):
    q, k, v = sd_like_qkv(batch=1, dtype=torch.float64)
    padded = pladis_attention(q, repeat_keys(k, times), repeat_keys(v, times), heads=4, alpha=alpha)
    tolerance = 1e-6 if alpha in (1.5, 2.0) else 1e-5
    torch.testing.assert_close(padded, pladis_reference(q, k, v, 4, alpha, 2.0), atol=tolerance, rtol=0)


def test_each_batch_element_is_corrected_on_its_own():
    """Positive prompt of 154 tokens beside a negative of 77 repeated twice: the CFG batch ComfyUI builds."""
    q, k, v = sd_like_qkv(batch=2, n_key=154, dtype=torch.float64)
    k[1, 77:], v[1, 77:] = k[1, :77], v[1, :77]
    out = pladis_attention(q, k, v, heads=4)
    torch.testing.assert_close(out[:1], pladis_reference(q[:1], k[:1], v[:1], 4, 1.5, 2.0), atol=1e-6, rtol=0)
    torch.testing.assert_close(out[1:], pladis_reference(q[1:], k[1:, :77], v[1:, :77], 4, 1.5, 2.0), atol=1e-6, rtol=0)


def test_without_the_correction_repetition_changes_entmax():
    q, k, v = sd_like_qkv(batch=1, dtype=torch.float64)
    uncorrected = pladis_attention(q, repeat_keys(k, 2), repeat_keys(v, 2), heads=4, key_repeats=torch.ones(1))
    assert_differ(uncorrected, pladis_reference(q, k, v, 4, 1.5, 2.0), more_than=1e-3, what="uncorrected")


def test_repeat_counts():
    _, k, _ = sd_like_qkv(batch=3, n_key=77)
    padded = torch.stack([k[0].repeat(6, 1), torch.cat([k[1], k[2]]).repeat(3, 1), torch.randn(462, k.shape[-1])])
    assert key_repeat_counts(padded).tolist() == [6.0, 3.0, 1.0]
    assert key_repeat_counts(k).tolist() == [1.0] * 3


def test_repeat_counts_allow_for_rounding_but_not_for_different_content():
    _, k, _ = sd_like_qkv(batch=1, n_key=77)
    padded = k.repeat(1, 2, 1)
    magnitude = padded.abs().max()
    rounded = padded.clone()
    rounded[:, 77:] += 1e-6 * magnitude * torch.randn_like(padded[:, 77:])
    assert key_repeat_counts(rounded).tolist() == [2.0]
    half = padded.half()
    half[:, 77:] += (2e-3 * magnitude * torch.randn_like(padded[:, 77:])).half()
    assert key_repeat_counts(half).tolist() == [2.0]
    different = padded.clone()
    different[:, 77:] += 1e-2 * magnitude * torch.randn_like(padded[:, 77:])
    assert key_repeat_counts(different).tolist() == [1.0]
