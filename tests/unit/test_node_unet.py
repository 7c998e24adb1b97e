"""The node on UNet-shaped models, with a stand-in ModelPatcher (tests/comfy_standins.py)."""

import copy
import logging

import pytest
import torch
from checks import assert_equal, assert_finite
from comfy.ldm.modules import attention
from comfy_standins import SD15_LAYOUT, SDXL_LAYOUT, ModelConfigSD15, make_model_patcher, run_unet
from oracles import pladis_reference
from pack import DEFAULTS, NODE_INPUTS, import_pack, patch

pack = import_pack()
Node = pack.nodes.PLADISModelPatch
PladisCrossAttention = pack.nodes.cross_attention_patch.PladisCrossAttention


def inputs(batch=2, tokens=16, context_tokens=77, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, tokens, 32, generator=g), torch.randn(batch, context_tokens, 24, generator=g)


def sdxl_keys(parts):
    layout = SDXL_LAYOUT
    return {(part, block, i) for part in parts for block, depth in layout[part].items() for i in range(depth)}


def test_schema_inputs_have_tooltips_and_stable_names():
    schema = Node.define_schema()
    schema.validate()
    assert schema.node_id == "PLADISModelPatch"
    assert [i.id for i in schema.inputs] == list(NODE_INPUTS)
    assert all(i.tooltip for i in schema.inputs)
    assert schema.description and "after IPAdapter" in schema.description
    defaults = {i.id: getattr(i, "default", None) for i in schema.inputs[1:]}
    assert defaults == {k: DEFAULTS[k] for k in defaults}


@pytest.mark.parametrize(
    ("layers", "custom", "expected"),
    [
        ("default", "", sdxl_keys(["input", "output"])),
        ("all", "", sdxl_keys(["input", "middle", "output"])),
        (
            "custom",
            "input 7-8, middle 0.0-2",
            {("input", b, i) for b in (7, 8) for i in range(10)} | {("middle", 0, i) for i in range(3)},
        ),
    ],
)
def test_registers_attn2_replacements_at_the_selected_keys(layers, custom, expected):
    model = make_model_patcher()
    patched, report = patch(model, layers=layers, custom_layers=custom)
    replacements = patched.attn2_replacements()
    assert set(replacements) == expected
    assert all(isinstance(p, PladisCrossAttention) for p in replacements.values())
    assert report["patched"] == len(expected) and report["available"] == 70 and report["family"] == "SDXL"


def test_sd15_default_patches_the_fifteen_input_and_output_layers():
    patched, report = patch(make_model_patcher(SD15_LAYOUT, ModelConfigSD15))
    assert len(patched.attn2_replacements()) == 15 and report["available"] == 16
    assert ("middle", 0, 0) not in patched.attn2_replacements()


def test_input_model_is_not_modified():
    model = make_model_patcher()
    before = copy.deepcopy(model.model_options)
    patched, _ = patch(model)
    assert patched is not model
    assert model.model_options == before and model.attn2_replacements() == {}


def check_last_layer(model, patched, added: float = 0.0):
    """Runs ``patched`` and checks that SD1.5's last cross-attention (output block 11, the model's output here)
    computed PLADIS (plus ``added``, what a wrapped foreign patch adds) from the input that block received."""
    block = model.get_model_object("diffusion_model").output_blocks[11][1].transformer_blocks[0]
    seen = {}
    hook = block.register_forward_hook(lambda module, args, out: seen.update(args=args))
    x, context = inputs()
    out = run_unet(patched, x, context)
    hook.remove()
    h, ctx, _ = seen["args"]
    attn = block.attn2
    expected = pladis_reference(attn.to_q(h), attn.to_k(ctx), attn.to_v(ctx), 4, 1.5, 2.0).float() + added
    torch.testing.assert_close(out, h + attn.to_out(expected), atol=1e-5, rtol=0)
    return out


def test_patched_model_computes_pladis_at_patched_layers_only():
    model = make_model_patcher(SD15_LAYOUT, ModelConfigSD15)
    patched, _ = patch(model, layers="custom", custom_layers="output 11")
    # Only output block 11 is patched, so its input is the same as in the unpatched model.
    out = check_last_layer(model, patched)
    x, context = inputs()
    assert not torch.equal(run_unet(model, x, context), out)


def test_scale_zero_returns_an_unpatched_clone():
    model = make_model_patcher()
    patched, report = patch(model, scale=0.0)
    assert patched is not model and patched.attn2_replacements() == {}
    assert report["patched"] == 0 and "PLADIS is off" in report["summary"]
    x, context = inputs()
    assert_equal(run_unet(patched, x, context), run_unet(model, x, context), "patched vs unpatched")


def test_step_range_gates_by_sigma():
    model = make_model_patcher(SD15_LAYOUT, ModelConfigSD15)
    patched, _ = patch(model, start_percent=0.25, end_percent=0.5)
    sampling = model.get_model_object("model_sampling")
    inside, before, after = (sampling.percent_to_sigma(p) for p in (0.4, 0.1, 0.9))
    x, context = inputs()
    base = {s: run_unet(model, x, context, sigma=s) for s in (inside, before, after)}
    assert not torch.equal(run_unet(patched, x, context, sigma=inside), base[inside])
    assert_equal(run_unet(patched, x, context, sigma=before), base[before], "before the range")
    assert_equal(run_unet(patched, x, context, sigma=after), base[after], "after the range")
    # The range's ends are inclusive, as in ComfyUI's own sigma-gated patches.
    edge = sampling.percent_to_sigma(0.25)
    assert not torch.equal(run_unet(patched, x, context, sigma=edge), run_unet(model, x, context, sigma=edge))


def test_outside_the_range_the_unpatched_attention_keeps_the_attention_override():
    model = make_model_patcher(SD15_LAYOUT, ModelConfigSD15)
    calls = []

    def override(func, *args, **kwargs):
        calls.append(args[0].shape)
        return func(*args, **kwargs)

    model.model_options["transformer_options"]["optimized_attention_override"] = override
    patched, _ = patch(model, start_percent=0.5)
    x, context = inputs()
    run_unet(patched, x, context, sigma=14.0)
    assert len(calls) == 16


def test_cond_only_batch_with_cfg_one():
    model = make_model_patcher(SD15_LAYOUT, ModelConfigSD15)
    patched, _ = patch(model)
    assert "disable_cfg1_optimization" not in patched.model_options
    x, context = inputs(batch=1)
    out = run_unet(patched, x, context, cond_or_uncond=[0])
    assert out.shape == x.shape
    assert_finite(out, "out")
    assert not torch.equal(out, run_unet(model, x, context, cond_or_uncond=[0]))


def test_repeat_padded_negative_prompt_in_a_cfg_batch():
    model = make_model_patcher(SD15_LAYOUT, ModelConfigSD15)
    patched, _ = patch(model)
    x, context = inputs(batch=2, context_tokens=154)
    negative = context[1:, :77]
    batched = run_unet(patched, x, torch.cat([context[:1], negative.repeat(1, 2, 1)]))
    alone = run_unet(patched, x[1:], negative, cond_or_uncond=[1])
    torch.testing.assert_close(batched[1:], alone, atol=1e-5, rtol=0)


class ForeignAttn2:
    """An IPAdapter-like replacement: the dense attention plus an extra term of its own."""

    def __init__(self):
        self.calls = 0

    def __call__(self, q, k, v, extra_options):
        self.calls += 1
        return attention.optimized_attention(q, k, v, extra_options["n_heads"]) + 0.25


@pytest.mark.parametrize("key", [("output", 11, 0), ("output", 11)])
def test_an_existing_attn2_replacement_is_wrapped_not_overwritten(key):
    model = make_model_patcher(SD15_LAYOUT, ModelConfigSD15)
    foreign = ForeignAttn2()
    model.set_model_attn2_replace(foreign, *key)
    patched, report = patch(model, layers="custom", custom_layers="output 11")
    wrapper = patched.attn2_replacements()[("output", 11, 0)]
    assert wrapper.previous is foreign and report["kept_patches"] == 1
    check_last_layer(model, patched, added=0.25)
    assert foreign.calls == 1


def test_a_block_keyed_patch_added_after_pladis_is_kept_too():
    """IPAdapter keys SD1.5 patches by (part, block); PLADIS's (part, block, index) keys would shadow them."""
    model = make_model_patcher(SD15_LAYOUT, ModelConfigSD15)
    patched, _ = patch(model, layers="custom", custom_layers="output 11")
    foreign = ForeignAttn2()
    patched.set_model_attn2_replace(foreign, "output", 11)
    assert patched.attn2_replacements()[("output", 11, 0)].previous is None
    check_last_layer(model, patched, added=0.25)
    assert foreign.calls == 1


def test_late_patch_adoption_leaves_the_options_untouched():
    adopt = pack.nodes.unet.adopt_late_patches
    step_range = pack.nodes.step_range.SigmaRange(1.0, 0.0, True)
    ours, foreign = PladisCrossAttention(1.5, 2.0, step_range), ForeignAttn2()
    options = {"patches_replace": {"attn2": {("input", 1, 0): ours, ("input", 1): foreign}}, "other": 1}
    adopted = adopt(options)
    assert options["patches_replace"]["attn2"][("input", 1, 0)] is ours and ours.previous is None
    assert adopted["patches_replace"]["attn2"][("input", 1, 0)].previous is foreign and adopted["other"] == 1
    assert (
        adopt({"patches_replace": {"attn2": {("input", 1, 0): ours}}})["patches_replace"]["attn2"][("input", 1, 0)]
        is ours
    )


def test_the_late_patch_wrapper_is_registered_once():
    once, _ = patch(make_model_patcher())
    twice, _ = patch(once)
    wrappers = twice.get_wrappers("apply_model", "pladis_late_attn2_patches")
    assert len(wrappers) == 1


def test_wrapper_forwards_device_moves_and_models_of_the_wrapped_patch():
    class Movable:
        def __init__(self, device="cpu"):
            self.device = device

        def to(self, device):
            return Movable(device)

        def models(self):
            return ["ip-adapter-model"]

    patch_ = PladisCrossAttention(1.5, 2.0, pack.nodes.step_range.SigmaRange(1.0, 0.0, True), Movable())
    moved = patch_.to("cuda:1")
    assert moved is not patch_ and moved.previous.device == "cuda:1" and moved.alpha == 1.5
    assert patch_.models() == ["ip-adapter-model"]
    plain = PladisCrossAttention(1.5, 2.0, pack.nodes.step_range.SigmaRange(1.0, 0.0, True))
    assert plain.to("cuda:1") is plain and plain.models() == []


def test_a_later_ipadapter_style_add_gets_a_clear_error():
    patched, _ = patch(make_model_patcher())
    with pytest.raises(RuntimeError, match="after IPAdapter"):
        patched.attn2_replacements()[("input", 4, 0)].add(lambda *a: None, weight=1.0)


def test_two_pladis_nodes_compose():
    model = make_model_patcher(SD15_LAYOUT, ModelConfigSD15)
    once, _ = patch(model, scale=1.0)
    twice, report = patch(once, scale=1.0)
    assert report["kept_patches"] == 15
    reference, _ = patch(model, scale=2.0)
    x, context = inputs()
    torch.testing.assert_close(run_unet(twice, x, context), run_unet(reference, x, context), atol=1e-5, rtol=0)


def test_a_model_without_cross_attention_is_a_clear_error():
    model = make_model_patcher(SD15_LAYOUT, ModelConfigSD15, context_dim=None)
    with pytest.raises(ValueError, match=r"cannot patch this SD15 model.*no UNet cross-attention.*Supported: .*Flux"):
        patch(model)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (dict(alpha=1.0), "alpha"),
        (dict(alpha=2.5), "alpha"),
        (dict(scale=-0.5), "scale"),
        (dict(start_percent=0.6, end_percent=0.4), "start_percent"),
        (dict(layers="custom"), "custom_layers is empty"),
        (dict(layers="some"), "layers must be one of"),
        (dict(layers="custom", custom_layers="input 3"), "matches no attention layer"),
    ],
)
def test_invalid_inputs_are_clear_errors(changes, message):
    with pytest.raises(ValueError, match=message):
        patch(make_model_patcher(), **changes)


def test_custom_list_without_custom_mode_is_reported(caplog):
    with caplog.at_level(logging.INFO):
        _, report = patch(make_model_patcher(), custom_layers="input 7")
    assert "custom_layers is ignored" in report["summary"]
    assert any("custom_layers is ignored" in r.getMessage() for r in caplog.records)


def test_logs_one_line_saying_what_it_did(caplog):
    with caplog.at_level(logging.INFO):
        _, report = patch(make_model_patcher(), alpha=2.0, scale=1.5, start_percent=0.1, end_percent=0.8)
    lines = [r.getMessage() for r in caplog.records if "[PLADIS]" in r.getMessage()]
    assert lines == [
        "[PLADIS] SDXL: patched 60 of 70 cross-attention layers (default) with α=2, λ=1.5, steps 10%–80%; "
        "PLADIS engine: eager PyTorch (cpu tensors)"
    ]
    assert report["summary"] in lines[0]
    assert report["engine"] == "PLADIS engine: eager PyTorch (cpu tensors)"


def test_the_report_names_the_fused_kernel_where_it_would_run(monkeypatch):
    dispatch = pack.pladis_core.dispatch
    monkeypatch.setattr(dispatch, "backend_for", lambda device: dispatch.BackendChoice(dispatch.TRITON, "cuda tensors"))
    _, report = patch(make_model_patcher())
    assert report["summary"].endswith("; PLADIS engine: fused Triton kernel (cuda tensors)")


def test_entrypoint_returns_the_extension_with_the_node():
    import asyncio

    extension = asyncio.run(pack.comfy_entrypoint())
    assert asyncio.run(extension.get_node_list())[0] is Node  # then the attention-map nodes
    assert pack.WEB_DIRECTORY == "./web"


@pytest.mark.parametrize(
    ("family", "parent", "reason"),
    [
        (
            "SV3D_p",
            "SVD_img2vid",
            r"Stable Video Diffusion.s \(and SV3D.s\) cross-attention attends a CLIP-vision image embedding",
        ),
        ("Stable_Zero123", None, "Stable Zero123's cross-attention attends a CLIP-vision image embedding"),
    ],
)
def test_unets_whose_cross_attention_attends_an_image_embedding_are_refused_with_the_reason(family, parent, reason):
    # SV3D's family class is a subclass of SVD's: the refusal follows ComfyUI's family classes, not one name
    bases = (type(parent, (), {}),) if parent else ()
    config = type(family, bases, {})
    model = make_model_patcher(SD15_LAYOUT, config=config)
    with pytest.raises(ValueError, match=rf"cannot patch this {family} model: {reason}, not text"):
        patch(model)
    assert model.model_options["transformer_options"] == {}


def test_the_unet_sites_are_found_at_patch_time_only(monkeypatch):
    from route_checks import assert_detected_at_patch_time_only

    x, context = inputs()
    assert_detected_at_patch_time_only(
        monkeypatch,
        pack,
        lambda: patch(make_model_patcher(SD15_LAYOUT, ModelConfigSD15))[0],
        lambda patched, sigma: run_unet(patched, x, context, sigma=sigma),
    )


def test_two_pladis_nodes_over_a_foreign_replacement_report_the_patches_they_keep():
    model = make_model_patcher(SD15_LAYOUT, ModelConfigSD15)
    foreign = ForeignAttn2()
    model.set_model_attn2_replace(foreign, "output", 11, 0)
    once, first = patch(model, layers="custom", custom_layers="output 10-11")
    twice, second = patch(once, layers="custom", custom_layers="output 10-11")
    assert (first["kept_patches"], second["kept_patches"]) == (1, 2)
    assert twice.attn2_replacements()[("output", 11, 0)].previous.previous is foreign
    x, context = inputs()
    run_unet(twice, x, context)
    assert foreign.calls == 1
