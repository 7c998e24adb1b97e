"""The node on a Flux-shaped joint-attention stand-in (tests/comfy_standins.py): which calls it patches, how it
chains with attention overrides and backends, and what it reports. Family layouts: test_dit_layouts.py; the
models refused: test_dit_refusals.py."""

import pytest
import torch
from checks import assert_equal
from comfy.ldm.modules import attention
from comfy_standins import JointBaseModelStandIn, JointDiTStandIn, make_dit_patcher, run_dit
from dit_calls import dit, families, joint_forward, layout_wrapper
from oracles import joint_reference
from pack import import_pack, patch

pack = import_pack()
TEXT_TOKENS, IMAGE_TOKENS = 5, 16  # 8x8 latent, patch 2


def inputs(seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(1, 4, 8, 8, generator=g), torch.randn(1, TEXT_TOKENS, 24, generator=g)


def run(model, **kwargs):
    diffusion_model = model.get_model_object("diffusion_model")
    diffusion_model.calls.clear()
    x, context = inputs()
    run_dit(model, x, context, **kwargs)
    return list(diffusion_model.calls)


def check_against_oracle(calls, patched_sites, n_image=IMAGE_TOKENS, bias_of=lambda call: None):
    for call in calls:
        scale = 2.0 if call["site"] in patched_sites else 0.0
        image = slice(TEXT_TOKENS, TEXT_TOKENS + n_image)
        expected = joint_reference(
            call["q"], call["k"], call["v"], slice(0, TEXT_TOKENS), image, 1.5, scale, bias=bias_of(call)
        )
        out4 = call["out"].view(1, call["q"].shape[2], 4, -1).transpose(1, 2)
        torch.testing.assert_close(out4.double(), expected, atol=2e-5, rtol=0)


ALL_SITES = {("double", 0), ("double", 1), ("single", 0), ("single", 1)}


@pytest.fixture(params=["attention_pytorch", "attention_basic"])
def backend(request, monkeypatch):
    """PyTorch attention (text mass from the log-sum-exp) and basic attention (text mass as an extra V column)."""
    monkeypatch.setattr(attention, "backend", getattr(attention, request.param))
    return request.param


def test_patches_every_block_by_default_and_matches_the_formula(backend):
    model = make_dit_patcher()
    patched, report = patch(model)
    assert report["family"] == "Flux" and report["architecture"] == "joint-attention"
    assert report["patched"] == report["available"] == 4
    assert "optimized_attention_override" not in model.model_options["transformer_options"]
    check_against_oracle(run(patched), ALL_SITES)


@pytest.mark.parametrize(
    ("custom", "sites"), [("double", {("double", 0), ("double", 1)}), ("single 1", {("single", 1)})]
)
def test_block_selection(custom, sites, backend):
    patched, report = patch(make_dit_patcher(), layers="custom", custom_layers=custom)
    assert report["patched"] == len(sites)
    check_against_oracle(run(patched), sites)


def set_counting_override(model, calls):
    """Another node's attention override, set before PLADIS: it records the backend of each call."""

    def counting_override(func, *args, **kwargs):
        calls.append(func.__name__)
        return func(*args, **kwargs)

    model.model_options["transformer_options"]["optimized_attention_override"] = counting_override


def test_an_override_set_before_is_chained_and_still_called(backend):
    model = make_dit_patcher()
    calls = []
    set_counting_override(model, calls)
    patched, report = patch(model)
    assert report["kept_patches"] == 1
    check_against_oracle(run(patched), ALL_SITES)
    assert calls == [backend] * 4


def test_reference_tokens_count_as_image_keys_and_keep_their_rows(backend):
    patched, _ = patch(make_dit_patcher())
    diffusion_model = patched.get_model_object("diffusion_model")
    diffusion_model.calls.clear()
    x, context = inputs()
    reference = torch.randn(1, 4, 4, 6)  # 6 reference tokens after the 16 image tokens
    run_dit(patched, x, context, reference=reference)
    check_against_oracle(diffusion_model.calls, ALL_SITES)
    assert diffusion_model.calls[0]["q"].shape[2] == TEXT_TOKENS + IMAGE_TOKENS + 6


def test_masked_text_keys(backend):
    patched, _ = patch(make_dit_patcher())
    mask = torch.zeros(1, 21, 21)
    mask[:, TEXT_TOKENS:, 1:3] = float("-inf")
    calls = run(patched, mask=mask)
    check_against_oracle(calls, ALL_SITES, bias_of=lambda call: call["mask"][:, None].double())


def test_outside_the_step_range_every_call_is_the_backend_unchanged():
    model = make_dit_patcher()
    patched, _ = patch(model, start_percent=0.5, end_percent=0.6)
    base = run(model, sigma=14.0)
    outside = run(patched, sigma=14.0)
    for i, (a, b) in enumerate(zip(base, outside, strict=True)):
        assert_equal(b["out"], a["out"], f"call {i} outside the range vs the unpatched call")
    assert len(base) == 4
    inside = run(patched, sigma=model.get_model_object("model_sampling").percent_to_sigma(0.55))
    check_against_oracle(inside, ALL_SITES)


def test_scale_zero_installs_nothing():
    patched, report = patch(make_dit_patcher(), scale=0.0)
    assert "optimized_attention_override" not in patched.model_options["transformer_options"]
    assert not patched.wrappers and report["patched"] == 0


def test_calls_that_are_not_joint_attention_pass_through():
    model = make_dit_patcher()
    patched, _ = patch(model)
    override = patched.model_options["transformer_options"]["optimized_attention_override"]
    forward = joint_forward("Flux", families.base.text_first(5, 16))
    options = {"pladis_joint_forward": forward, "sigmas": torch.ones(1)}
    q = torch.randn(1, 4, 16, 8)  # image tokens only: a refiner-style self-attention
    out = override(attention.attention_pytorch, q, q, q, 4, skip_reshape=True, transformer_options=options)
    torch.testing.assert_close(out, attention.attention_pytorch(q, q, q, 4, skip_reshape=True))
    assert forward.attention_calls == 1 and forward.joint_calls == 0


def test_block_identity_from_comfyui_block_info():
    forward = joint_forward("Flux", families.base.text_first(5, 16))
    q = torch.randn(1, 4, 21, 8)
    call = forward.classify(object(), q, q, {"skip_reshape": True}, {"block_type": "single", "block_index": 7})
    assert call.site == ("single", 7, None) and call.text == slice(0, 5) and call.image == slice(5, 21)


def test_a_comfyui_without_the_attention_override_is_a_clear_error(monkeypatch):
    monkeypatch.delattr(attention, "wrap_attn")
    with pytest.raises(RuntimeError, match=r"ComfyUI 0\.3\.59 or newer"):
        patch(make_dit_patcher())


def test_layout_wrapper_is_registered_once_and_keeps_the_input_model():
    model = make_dit_patcher()
    once, _ = patch(model)
    twice, report = patch(once)
    assert len(twice.get_wrappers("apply_model", "pladis_joint_layout")) == 1
    assert report["kept_patches"] == 1  # the second node chains the first one's override
    assert not model.wrappers


def test_two_nodes_compose_additively():
    model = make_dit_patcher()
    once, _ = patch(model, scale=1.0)
    twice, _ = patch(once, scale=1.0)
    reference, _ = patch(model, scale=2.0)
    a, b = run(twice), run(reference)
    assert len(a) == len(b) == 4
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x["out"], y["out"], atol=2e-5, rtol=0)


def test_a_backend_override_set_after_pladis_is_used_for_the_dense_part(backend):
    calls = []

    def backend_node_override(func, *args, **kwargs):  # as ComfyUI's ModelAttentionBackend writes it: no chaining
        calls.append(func.__name__)
        return func(*args, **kwargs)

    patched, _ = patch(make_dit_patcher())
    after = patched.clone()
    after.model_options["transformer_options"]["optimized_attention_override"] = backend_node_override
    check_against_oracle(run(after), ALL_SITES)
    assert calls == [backend] * 4


def test_an_override_set_after_pladis_that_chains_it_is_left_in_front():
    patched, _ = patch(make_dit_patcher())
    options = patched.model_options["transformer_options"]
    inner, calls = options["optimized_attention_override"], []

    def chaining_override(func, *args, **kwargs):
        calls.append(func.__name__)
        return inner(func, *args, **kwargs)

    options["optimized_attention_override"] = chaining_override
    check_against_oracle(run(patched), ALL_SITES)  # PLADIS once, not twice
    assert len(calls) == 4


def test_an_override_that_keeps_pladis_in_a_table_is_left_in_front():
    patched, _ = patch(make_dit_patcher())
    options = patched.model_options["transformer_options"]
    calls = []

    class TableOverride:  # e.g. a backend node that remembers the previous override by name
        def __init__(self, previous):
            self.table = {"previous": [previous]}

        def __call__(self, func, *args, **kwargs):
            calls.append(func.__name__)
            return self.table["previous"][0](func, *args, **kwargs)

    options["optimized_attention_override"] = TableOverride(options["optimized_attention_override"])
    check_against_oracle(run(patched), ALL_SITES)  # PLADIS once, not twice
    assert len(calls) == 4


def test_a_model_whose_attention_never_reaches_the_override_is_logged(caplog, monkeypatch):
    monkeypatch.setattr(dit, "_warned", {})
    diffusion_model = JointDiTStandIn()

    class Executor:
        class_obj = JointBaseModelStandIn(diffusion_model)

        def __call__(self, *args, **kwargs):  # a model call that makes no override-routed attention call
            return args[0]

    x, context = inputs()
    with caplog.at_level("WARNING"):
        layout_wrapper(Executor.class_obj)(Executor(), x, torch.ones(1), None, context, None, {})
    assert "no attention call of this model reached the attention override" in caplog.text


def test_the_family_is_detected_at_patch_time_only(monkeypatch):
    from route_checks import assert_detected_at_patch_time_only

    runs = assert_detected_at_patch_time_only(
        monkeypatch, pack, lambda: patch(make_dit_patcher())[0], lambda patched, sigma: run(patched, sigma=sigma)
    )
    assert [len(calls) for calls in runs] == [4] * 4  # every block's attention ran each step


def test_two_pladis_nodes_over_a_foreign_override_report_the_overrides_they_keep(backend):
    model = make_dit_patcher()
    calls = []
    set_counting_override(model, calls)
    once, first = patch(model, scale=1.0)
    twice, second = patch(once, scale=1.0)
    assert (first["kept_patches"], second["kept_patches"]) == (1, 2)
    assert "kept 2 earlier attention patch(es)" in second["summary"]
    reference, _ = patch(model, scale=2.0)
    for a, b in zip(run(twice), run(reference), strict=True):
        torch.testing.assert_close(a["out"], b["out"], atol=1e-5, rtol=0)
    assert calls  # the foreign override still runs under both
