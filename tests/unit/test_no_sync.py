"""The accelerator code path makes no host synchronisation: run on CPU with the accelerators' solver chosen,
every aten op is recorded and none of them may read a tensor's value on the host."""

import pytest
import torch
from checks import assert_finite
from oracles import joint_qkv, joint_reference, pladis_reference, sd_like_qkv
from torch.utils._python_dispatch import TorchDispatchMode

from pladis_core import alpha_entmax, pladis_attention
from pladis_core.joint_attention import pladis_joint_attention, sdpa_attend

SYNCING_OPS = {"_local_scalar_dense", "nonzero", "is_nonzero", "item", "equal"}


class SyncRecorder(TorchDispatchMode):
    """Records the aten ops that read a tensor's value on the host."""

    def __init__(self) -> None:
        super().__init__()
        self.syncs: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.overloadpacket.__name__ in SYNCING_OPS:
            self.syncs.append(str(func))
        return func(*args, **(kwargs or {}))


@pytest.fixture
def accelerator_path(monkeypatch):
    """The solver choice an accelerator device gets, on CPU tensors."""
    monkeypatch.setattr(alpha_entmax, "exact_solver", lambda device: "sort")


def syncs_of(call):
    with SyncRecorder() as recorder:
        result = call()
    return recorder.syncs, result


def test_the_recorder_sees_the_cpu_solvers_sync():
    q, k, v = sd_like_qkv()
    syncs, _ = syncs_of(lambda: pladis_attention(q, k, v, heads=4))
    assert any("_local_scalar_dense" in s for s in syncs)


@pytest.mark.parametrize("alpha", [1.5, 2.0, 1.75])
def test_cross_attention_with_repeat_padding_does_not_sync(accelerator_path, alpha):
    q, k, v = sd_like_qkv(batch=2, n_key=154)
    k[1], v[1] = k[1, :77].repeat(2, 1), v[1, :77].repeat(2, 1)  # element 1: ComfyUI's repeat padding
    syncs, out = syncs_of(lambda: pladis_attention(q, k, v, heads=4, alpha=alpha, chunk_scores=4 * 77 * 40))
    assert syncs == []
    expected = pladis_reference(q[1:], k[1:, :77], v[1:, :77], 4, alpha, 2.0)
    torch.testing.assert_close(out[1:].double(), expected, atol=3e-5, rtol=0)


def test_correction_on_top_of_another_attention_does_not_sync(accelerator_path):
    q, k, v = sd_like_qkv()
    syncs, _ = syncs_of(lambda: pladis_attention(q, k, v, heads=4, include_dense=False))
    assert syncs == []


@pytest.mark.parametrize("dense_pass", ["text-mass column", "log-sum-exp"])
@pytest.mark.parametrize("alpha", [1.5, 2.0])
def test_joint_correction_with_a_mask_does_not_sync(accelerator_path, alpha, dense_pass):
    q, k, v = joint_qkv(batch=2, n_text=7, n_image=24)
    text, image = slice(0, 7), slice(7, 31)
    bias = torch.zeros(2, 1, 31, 31)
    bias[0, :, :, 2:4] = float("-inf")
    bias[1, :, 7:, :7] = float("-inf")  # image rows of element 1 see no text key at all

    def joint():
        # Off CPU the dense pass carries the text mass as an extra V column; on CPU a log-sum-exp kernel gives it.
        attend = sdpa_attend(bias) if dense_pass == "text-mass column" else None
        return pladis_joint_attention(q, k, v, text, image, alpha, 2.0, attend=attend, bias=bias)

    syncs, out = syncs_of(joint)
    assert syncs == []
    assert_finite(out, "out")
    expected = joint_reference(q[:1], k[:1], v[:1], text, image, alpha, 2.0, bias[:1])
    torch.testing.assert_close(out[:1].double(), expected, atol=3e-5, rtol=0)
    # Without text mass the rows keep their dense attention.
    dense = torch.nn.functional.scaled_dot_product_attention(q[1:], k[1:], v[1:], attn_mask=bias[1:])
    torch.testing.assert_close(out[1:], dense, atol=1e-6, rtol=0)
