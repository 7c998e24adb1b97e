"""The node on a Flux-shaped joint-attention stand-in (tests/comfy_standins.py)."""

import pytest
import torch
from comfy.ldm.modules import attention
from comfy_standins import JointBaseModelStandIn, JointDiTStandIn, StandInModelPatcher, make_dit_patcher, run_dit
from oracles import entmax_reference, joint_reference
from pack import import_pack

pack = import_pack()
Node = pack.nodes.PLADISModelPatch
dit = pack.nodes.dit
attention_call = pack.nodes.attention_call
forwards = pack.nodes.joint_forward
joint_override = pack.nodes.joint_override
families = pack.nodes.families

DEFAULTS = dict(alpha=1.5, scale=2.0, start_percent=0.0, end_percent=1.0, layers="default", custom_layers="")
TEXT_TOKENS, IMAGE_TOKENS = 5, 16  # 8x8 latent, patch 2


def patch(model, **changes):
    output = Node.execute(model=model, **{**DEFAULTS, **changes})
    return output.result[0], output.ui["pladis"][0]


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
    assert all(torch.equal(a["out"], b["out"]) for a, b in zip(base, outside, strict=True))
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


def layout_wrapper(base_model):
    """The APPLY_MODEL wrapper PLADIS installs on this model, bound to its family and sites."""
    target = dit.ROUTE.recognise(base_model.diffusion_model)
    return dit.JointLayoutWrapper(target.family, target.sites)


def joint_forward(class_name, layout, sites=()):
    return forwards.JointForward(families.BY_CLASS[class_name], list(sites), layout)


def test_block_identity_from_comfyui_block_info():
    forward = joint_forward("Flux", families.base.text_first(5, 16))
    q = torch.randn(1, 4, 21, 8)
    call = forward.classify(object(), q, q, {"skip_reshape": True}, {"block_type": "single", "block_index": 7})
    assert call.site == ("single", 7, None) and call.text == slice(0, 5) and call.image == slice(5, 21)


def test_sd3_register_tokens_are_filler():
    diffusion_model = type("OpenAISignatureMMDITWrapper", (), {"patch_size": 2, "register_length": 2})()
    call = families.ModelCall(diffusion_model, object(), torch.zeros(1, 16, 8, 8), torch.zeros(1, 7, 48))
    layout = families.registry.SD3.layout(call)
    forward = joint_forward("OpenAISignatureMMDITWrapper", layout)
    q = torch.randn(1, 25, 64)  # (B, L, H·D): 2 registers, 7 text tokens, then 16 image tokens
    call = forward.classify(object(), q, q, {}, {})
    assert call.text == slice(2, 9) and call.image == slice(9, 25)
    assert forward.classify(object(), q[:, :16], q[:, :16], {}, {}) is None  # SD3.5's image-only attention


def test_an_unknown_dit_is_a_clear_error_listing_the_supported_families():
    class PixArtMS(torch.nn.Module):
        pass

    model = StandInModelPatcher(JointBaseModelStandIn(PixArtMS()))
    with pytest.raises(ValueError, match=r"PixArtMS.*Supported: .*SDXL.*Flux.*SD3"):
        patch(model)


def test_a_known_class_without_its_blocks_is_refused():
    class HiDreamImageTransformer2DModel(torch.nn.Module):
        pass

    model = StandInModelPatcher(JointBaseModelStandIn(HiDreamImageTransformer2DModel()))
    with pytest.raises(ValueError, match=r"HiDreamImageTransformer2DModel does not have the blocks HiDream has"):
        patch(model)


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


def test_stand_in_is_named_like_comfyui_flux():
    assert type(JointDiTStandIn()).__name__ == "Flux"


def test_wan_text_cross_attention_is_recognised_and_its_self_attention_is_not():
    layout = families.TokenLayout(slice(0, 12), slice(0, 32), 12)
    forward = joint_forward("WanModel", layout, [("block", 0, None)])
    video, text, clip = torch.randn(1, 32, 64), torch.randn(1, 12, 64), torch.randn(1, 257, 64)
    assert forward.classify(object(), video, video, {}, {}) is None
    assert forward.classify(object(), video, clip, {}, {}) is None  # Wan I2V's image cross-attention
    call = forward.classify(object(), video, text, {}, {"block_type": "double", "block_index": 3})
    assert call.cross and call.text == slice(0, 12) and call.image == slice(0, 32) and call.site == ("block", 3, None)


def test_image_token_counts():
    assert families.image_token_count(torch.zeros(1, 16, 9, 8), 2) == 5 * 4  # padded up to whole patches
    assert families.image_token_count(torch.zeros(1, 16, 1, 8, 8), 2) == 16  # Qwen-Image's one-frame latent
    assert families.image_token_count(torch.zeros(1, 16, 3, 8, 8), (1, 2, 2)) == 48  # Wan


def test_native_block_info_for_single_part_families():
    forward = joint_forward("QwenImageTransformer2DModel", families.base.text_first(5, 16))
    q = torch.randn(1, 21, 64)
    assert forward.classify(object(), q, q, {}, {"block_type": "double", "block_index": 4}).site == ("double", 4, None)


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


def test_flux2_zero_left_padding_is_filler_per_batch_element():
    flux = families.flux
    context = torch.randn(2, 8, 4)
    context[0, :5] = 0  # 3 text tokens
    context[1, :2] = 0  # 6 text tokens
    assert flux.leading_zero_rows(context) == [5, 2]
    diffusion_model = type("Flux", (), {"patch_size": 2})()
    flux2 = type("Flux2", (type("Flux", (), {}),), {})()
    layout = flux.flux_layout(families.ModelCall(diffusion_model, flux2, torch.zeros(2, 16, 8, 8), context))
    assert layout.text == slice(2, 8) and layout.image == slice(8, 24)
    assert layout.batch_text == (slice(5, 8), slice(2, 8))
    flux1 = flux.flux_layout(families.ModelCall(diffusion_model, object(), torch.zeros(2, 16, 8, 8), context))
    assert flux1.text == slice(0, 8) and not flux1.batch_text  # Flux.1 has no filler: its zeros are text

    forward = forwards.JointForward(families.registry.FLUX, [], layout)
    q = torch.randn(2, 4, 24, 8)
    call = forward.classify(object(), q, q, {"skip_reshape": True}, {"block_type": "double", "block_index": 0})
    assert call.groups == ((slice(0, 1), slice(5, 8)), (slice(1, 2), slice(2, 8)))


def test_an_unlisted_subclass_of_a_known_family_is_refused_as_unverified():
    class Flux(torch.nn.Module):
        pass

    class FluxWithOtherTokens(Flux):
        pass

    model = StandInModelPatcher(JointBaseModelStandIn(FluxWithOtherTokens()))
    with pytest.raises(ValueError, match=r"FluxWithOtherTokens is a variant of Flux .*not been verified"):
        patch(model)


def ltx2_call(prompt_tokens, latent_shapes=((1, 128, 2, 4, 4), (1, 8, 6, 16)), context=1024, widths=(64, 32)):
    patchifier = type("SymmetricPatchifier", (), {"patch_size": (1, 1, 1)})()
    attributes = {"patchifier": patchifier, "inner_dim": widths[0], "audio_inner_dim": widths[1]}
    conds = {"latent_shapes": [torch.Size(s) for s in latent_shapes]}
    if prompt_tokens is not None:
        conds[families.ltx2.PROMPT_TOKENS] = torch.tensor([[n] for n in prompt_tokens])
    x, text = torch.zeros(1, 1, 1000), torch.zeros(len(prompt_tokens or [1]), context, 96)
    return model_call("LTXAVModel", attributes, x, text, **conds)


def test_ltx2_text_keys_end_where_each_prompt_ends_and_the_streams_are_told_apart_by_width():
    layout = families.ltx2.ltx2_layout(ltx2_call([5, 9]))
    assert layout.text == slice(0, 9) and layout.length == 1024
    assert layout.batch_text == (slice(0, 5), slice(0, 9))  # the connector's registers follow each prompt
    assert [(s.part, s.width, s.queries) for s in layout.streams] == [("video", 64, 32), ("audio", 32, 6)]

    sites = [("video", 0, None), ("video", 1, None), ("audio", 0, None), ("audio", 1, None)]
    forward = joint_forward("LTXAVModel", layout, sites)
    owner, context = object(), torch.randn(2, 1024, 64)
    video, audio = torch.randn(2, 32, 64), torch.randn(2, 6, 32)
    assert forward.classify(owner, video, video, {}, {}) is None  # self-attention
    assert forward.classify(owner, video, torch.randn(2, 6, 32), {}, {}) is None  # audio-to-video
    first = forward.classify(owner, video, context, {}, {})
    assert first.site == ("video", 0, None) and not first.cross and first.image == slice(0, 32)
    assert first.groups == ((slice(0, 1), slice(0, 5)), (slice(1, 2), slice(0, 9)))
    assert forward.classify(owner, audio, torch.randn(2, 1024, 32), {}, {}).site == ("audio", 0, None)
    assert forward.classify(owner, audio, torch.randn(2, 32, 32), {}, {}) is None  # video-to-audio
    assert forward.classify(owner, video, context, {}, {}).site == ("video", 1, None)


def test_ltx2_passes_through_when_the_prompt_length_is_unknown_or_the_shapes_are_ambiguous():
    unknown = families.ltx2.ltx2_layout(ltx2_call([5, families.ltx2.UNKNOWN]))
    assert unknown.text == slice(0, 0) and "embeddings connector" in unknown.note
    assert "did not reach" in families.ltx2.ltx2_layout(ltx2_call(None)).note
    # a video of exactly as many tokens as the context: the video-to-audio call looks like the audio text call
    square = families.ltx2.ltx2_layout(ltx2_call([5], latent_shapes=((1, 128, 4, 16, 16), (1, 8, 6, 16))))
    assert [s.part for s in square.streams] == ["video"]
    same_width = families.ltx2.ltx2_layout(ltx2_call([5], widths=(64, 64)))
    assert same_width.text == slice(0, 0) and "same width" in same_width.note
    no_audio = families.ltx2.ltx2_layout(ltx2_call([5], latent_shapes=((1, 128, 2, 4, 4),)))
    assert [s.part for s in no_audio.streams] == ["video"]


def test_ltx2s_recorded_prompt_length_is_read_then_taken_out_of_the_conds_and_a_note_is_logged_once(
    caplog, monkeypatch
):
    monkeypatch.setattr(dit, "_warned", {})

    class LTXAVModel(torch.nn.Module):
        patchifier = type("SymmetricPatchifier", (), {"patch_size": (1, 1, 1)})()
        inner_dim, audio_inner_dim = 64, 32

        def __init__(self):
            super().__init__()
            self.transformer_blocks = torch.nn.ModuleList([torch.nn.Identity(), torch.nn.Identity()])

    seen = []

    class Executor:
        class_obj = JointBaseModelStandIn(LTXAVModel())

        def __call__(self, *args, **kwargs):
            seen.append(sorted(kwargs))
            return args[0]

    x, context = torch.zeros(1, 1, 1000), torch.zeros(1, 1024, 96)
    unknown = {families.ltx2.PROMPT_TOKENS: torch.tensor([[families.ltx2.UNKNOWN]]), "frame_rate": 25}
    with caplog.at_level("WARNING"):
        for _ in range(2):
            layout_wrapper(Executor.class_obj)(Executor(), x, torch.ones(1), None, context, None, {}, **unknown)
    assert seen == [["frame_rate"], ["frame_rate"]]  # the model never sees the pack's cond
    assert caplog.text.count("already through its embeddings connector") == 1
    assert "left this model call unchanged" in caplog.text


def test_a_cross_attention_call_shaped_like_self_attention_is_left_dense():
    # a Wan video with exactly as many tokens as the text: self-attention and text cross-attention look alike
    layout = families.TokenLayout(slice(0, 32), slice(0, 32), 32)
    forward = joint_forward("WanModel", layout, [("block", 0, None)])
    video = torch.randn(1, 32, 64)
    assert forward.classify(object(), video, video, {}, {"block_index": 0}) is None
    assert forward.self_shaped_calls == 1 and forward.joint_calls == 0


def test_causal_wan_is_refused_with_the_reason():
    class WanModel(torch.nn.Module):
        pass

    class CausalWanModel(WanModel):
        pass

    model = StandInModelPatcher(JointBaseModelStandIn(CausalWanModel()))
    with pytest.raises(ValueError, match=r"Causal Wan's autoregressive path .* runs its blocks without"):
        patch(model)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("StageB", r"Stable Cascade stage B sees the prompt only as the pooled CLIP vector"),
        ("NaDiT", r"SeedVR2 is a restoration model with no text encoder"),
        ("AudioDiffusionTransformer", r"Stable Audio is an audio model"),
        ("ACEStepTransformer2DModel", r"ACE-Step is an audio model"),
        ("AceStepConditionGenerationModel", r"ACE-Step 1.5 is an audio model"),
        ("MiniMaxMusic3DiT", r"MiniMax Music 3 is an audio model"),
        ("Hunyuan3Dv2", r"Hunyuan3D 2 is an image-to-3D model"),
        ("Trellis2", r"TRELLIS.2 is an image-to-3D model"),
    ],
)
def test_models_refused_on_purpose_say_why(name, reason):
    diffusion_model = type(name, (torch.nn.Module,), {})()
    with pytest.raises(ValueError, match=rf"cannot patch .*\({name}\): {reason}"):
        patch(StandInModelPatcher(JointBaseModelStandIn(diffusion_model)))


def test_cosmos_predict1_needs_one_cross_attention_per_block_for_call_order():
    def general_dit(*configs):
        def block(config):
            parts = [type("DITBuildingBlock", (), {"block_type": t})() for t in config.lower().split("-")]
            return type("GeneralDITTransformerBlock", (), {"blocks": parts})()

        return type("GeneralDIT", (), {"blocks": {f"block{i}": block(c) for i, c in enumerate(configs)}})()

    assert families.family_of(general_dit("FA-CA-MLP", "FA-CA-MLP")) is families.BY_CLASS["GeneralDIT"]
    assert families.family_of(general_dit("FA-CA-MLP", "CA-FA-CA-MLP")) is None


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


def model_call(diffusion_model_class, attributes, x, context, base=None, **conds):
    diffusion_model = type(diffusion_model_class, (), attributes)()
    return families.ModelCall(diffusion_model, base, x, context, conds)


def test_z_image_caption_and_image_pads_are_filler():
    call = model_call(
        "NextDiT", {"patch_size": 2, "pad_tokens_multiple": 32}, torch.zeros(1, 16, 8, 8), torch.zeros(1, 5, 8)
    )
    layout = families.lumina.lumina_layout(call)
    assert layout.text == slice(0, 5) and layout.image == slice(32, 48) and layout.length == 48
    lumina2 = model_call("NextDiT", {"patch_size": 2, "pad_tokens_multiple": None}, call.x, call.context)
    assert families.lumina.lumina_layout(lumina2).image == slice(5, 21)


def test_z_image_omni_text_keys_are_every_captions_tokens_and_only_the_target_rows_change():
    attributes = {"patch_size": 2, "pad_tokens_multiple": 32, "siglip_embedder": object()}
    x, prompt = torch.zeros(1, 16, 8, 8), torch.zeros(1, 5, 8)
    two_references = model_call(
        "NextDiT",
        attributes,
        x,
        prompt,
        ref_latents=[torch.zeros(1, 16, 8, 8), torch.zeros(1, 16, 16, 8)],  # 16 and 32 tokens
        ref_contexts=[torch.zeros(1, 3, 8)],  # the second reference has no text: a caption of pads only
        siglip_feats=[torch.zeros(1, 6, 6, 24)],  # 36 tokens for the first; the second and the target: pads
    )
    layout = families.lumina.lumina_layout(two_references)
    # captions [3 | 29 pads] [32 pads] [5 | 27 pads], SigLIP [36 | 28 pads] [32 pads] [32 pads], images
    # [16 | 16 pads] [32] [16 target | 16 pads]
    assert layout.text == slice(0, 8) and layout.image == slice(288, 304) and layout.length == 320
    assert layout.key_order[:8].tolist() == [0, 1, 2, 64, 65, 66, 67, 68]
    assert sorted(layout.key_order.tolist()) == list(range(320))
    without_siglip = model_call(
        "NextDiT", {"patch_size": 2, "pad_tokens_multiple": 32}, x, prompt, ref_latents=[torch.zeros(1, 16, 8, 8)]
    )
    layout = families.lumina.lumina_layout(without_siglip)  # [32 pads] [5 | 27] [16 | 16] [target]
    assert (
        layout.text == slice(0, 5)
        and layout.image == slice(96, 112)
        and layout.key_order[:5].tolist()
        == [
            32,
            33,
            34,
            35,
            36,
        ]
    )
    lumina2 = model_call("NextDiT", {"patch_size": 2, "pad_tokens_multiple": None}, x, prompt, ref_latents=[x])
    assert "padding" in families.lumina.lumina_layout(lumina2).note


def test_hunyuan_vision_tokens_and_reference_latent_are_not_text():
    attributes = {"patch_size": [1, 2, 2], "vision_in": object(), "byt5_in": object()}
    x = torch.zeros(1, 16, 1, 8, 8)
    call = model_call(
        "HunyuanVideo",
        attributes,
        x,
        torch.zeros(1, 5, 8),
        clip_fea=torch.zeros(1, 7, 4),
        txt_byt5=torch.zeros(1, 3, 4),
        ref_latent=torch.zeros(1, 16, 1, 4, 4),
    )
    layout = families.hunyuan.hunyuan_layout(call)  # [vision 7 | byT5 3 + LLM 5 | reference 4 | image 16]
    assert layout.text == slice(7, 15) and layout.image == slice(19, 35) and layout.length == 35
    plain = model_call(
        "HunyuanVideo", {"patch_size": [1, 2, 2]}, x, torch.zeros(1, 5, 8), txt_byt5=torch.zeros(1, 3, 4)
    )
    assert families.hunyuan.hunyuan_layout(plain).text == slice(0, 5)  # no byT5 mapper: byT5 input unused


def test_anima_zero_right_padding_is_filler_per_batch_element():
    context = torch.randn(2, 512, 8)
    context[0, 5:] = 0
    context[1, 9:] = 0
    call = model_call("Anima", {"patch_temporal": 1, "patch_spatial": 2}, torch.zeros(2, 16, 1, 8, 8), context)
    layout = families.cross.anima_layout(call)
    assert layout.length == 512 and layout.image == slice(0, 16)
    assert layout.batch_text == (slice(0, 5), slice(0, 9))
    forward = forwards.JointForward(families.registry.ANIMA, [], layout)
    q, k = torch.randn(2, 16, 64), torch.randn(2, 512, 64)
    call = forward.classify(object(), q, k, {}, {"block_index": 1})
    assert not call.cross and call.image == slice(0, 16) and call.site == ("block", 1, None)  # a sub-slice of keys


def test_auraflow_registers_and_hidream_image_first():
    aura = model_call(
        "MMDiT",
        {"patch_size": 2, "register_tokens": torch.zeros(1, 8, 4)},
        torch.zeros(1, 16, 8, 8),
        torch.zeros(1, 5, 8),
    )
    layout = families.aura.aura_layout(aura)
    assert layout.text == slice(8, 13) and layout.image == slice(13, 29)
    llama = torch.zeros(1, 2, 3, 4)
    hidream = model_call(
        "HiDreamImageTransformer2DModel",
        {"patch_size": 2},
        torch.zeros(1, 16, 8, 8),
        torch.zeros(1, 5, 8),
        encoder_hidden_states_llama3=llama,
    )
    layout = families.hidream.hidream_layout(hidream)  # [image 16 | T5 5 | Llama 3 | Llama 3]
    assert layout.image == slice(0, 16) and layout.text == slice(16, 27) and layout.length == 27


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


def test_stage_c_text_keys_follow_each_levels_own_image_tokens():
    # Keys [image | 5 CLIP-text | 4 pooled | 4 CLIP-image]: the text columns sit after this level's queries.
    forward = joint_forward("StageC", families.TokenLayout(slice(0, 5), slice(0, 0), 13))
    for n_image in (64, 16):
        q, k = torch.randn(1, 2, n_image, 8), torch.randn(1, 2, n_image + 13, 8)
        call = forward.classify(object(), q, k, {"skip_reshape": True}, {})
        assert (call.text, call.image, call.cross) == (slice(n_image, n_image + 5), slice(0, n_image), False)
    q = torch.randn(1, 2, 64, 8)
    assert forward.classify(object(), q, q, {"skip_reshape": True}, {}) is None  # not [image | context]


class PackedLayoutStandIn:
    """MiniMax H3's packed layout, as its extra_conds builds it: contiguous (start, stop, kind) segments."""

    def __init__(self, text, cond, audio, video):
        self.segments, start = [], 0
        for kind, n in (("text", text), ("cond", cond), ("audio", audio), ("video", video)):
            if n:
                self.segments.append((start, start + n, kind))
                start += n
        self.seq_len = start


def minimax_h3_call(text=7, tags=None, cond=0):
    payload = {"layout": PackedLayoutStandIn(text, cond, 6, 16)}
    if tags is not None:
        payload["text_token_tags"] = tags
    return model_call("MiniMaxH3Model", {}, torch.zeros(1, 1, 10), torch.zeros(1, text, 8), minimax_payload=payload)


def test_minimax_h3_video_rows_change_over_the_prompt_keys():
    layout = families.minimax.minimax_h3_layout(minimax_h3_call(cond=4))
    assert layout.text == slice(0, 7) and layout.image == slice(17, 33) and layout.length == 33
    assert layout.key_order is None
    assert families.minimax.minimax_h3_layout(minimax_h3_call(tags=torch.ones(7, dtype=torch.long))).key_order is None
    unmatched = model_call("MiniMaxH3Model", {}, torch.zeros(1, 1, 10), torch.zeros(1, 9, 8), minimax_payload={})
    assert "no packed layout" in families.minimax.minimax_h3_layout(unmatched).note


def test_minimax_h3_vision_pads_among_the_prompt_keep_their_dense_weights():
    """An image in the prompt (image-to-video): its vision pads sit among the text tokens. The result is the
    formula over the text keys where they are (an oracle that indexes them in the model's order)."""
    tags = torch.tensor([1, 1, 0, 0, 0, 1, 1])
    layout = families.minimax.minimax_h3_layout(minimax_h3_call(tags=tags))
    assert layout.text == slice(0, 4) and layout.image == slice(13, 29)
    site = pack.nodes.layer_selection.Site("single", 0, None)
    forward = forwards.JointForward(families.registry.MINIMAX_H3, [site], layout)
    override = joint_override.PladisJointAttention(
        1.5, 2.0, pack.nodes.step_range.SigmaRange(1.0, 0.0, True), frozenset({site})
    )
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, 2, 29, 16, generator=g) for _ in range(3))
    k[:, :, 5] *= 3.0  # a peaked text key after the vision pads
    options = {"pladis_joint_forward": forward}
    out = override(attention.attention_pytorch, q, k, v, 2, skip_reshape=True, transformer_options=options)
    assert forward.patched_calls == 1
    out = out.view(1, 29, 2, 16).transpose(1, 2).double()

    text, image = torch.tensor([0, 1, 5, 6]), slice(13, 29)
    logits = q.double() @ k.double().transpose(-1, -2) / 4.0
    weights = logits.softmax(dim=-1)
    block = weights[:, :, image][..., text]
    mass = block.sum(dim=-1, keepdim=True)
    rows = weights[:, :, image]
    rows[..., text] = block + 2.0 * (mass * entmax_reference(logits[:, :, image][..., text], 1.5) - block)
    weights[:, :, image] = rows
    reference = weights @ v.double()
    assert (out - reference).abs().max() / reference.abs().max() < 1e-5
    dense = (logits.softmax(dim=-1) @ v.double())[:, :, :13]  # the prompt's and the audio's rows
    torch.testing.assert_close(out[:, :, :13], dense, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("positional_mask", [False, True])
def test_keys_read_in_another_order_give_the_same_attention(positional_mask):
    g = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(2, 9, 32, generator=g) for _ in range(3))  # (B, L, H·D), 4 heads
    mask = torch.zeros(2, 9, 9)
    mask[:, :, 4] = float("-inf")
    order = torch.tensor([0, 1, 5, 6, 2, 3, 4, 7, 8])
    args, kwargs = ((q, k, v, 4, mask), {}) if positional_mask else ((q, k, v, 4), {"mask": mask})
    args, kwargs = attention_call.keys_in_order(args, kwargs, order)
    moved_mask = args[4] if positional_mask else kwargs["mask"]
    assert torch.equal(args[1], k[:, order]) and torch.equal(moved_mask[:, :, 6], mask[:, :, 4])
    torch.testing.assert_close(attention.attention_basic(*args, **kwargs), attention.attention_basic(q, k, v, 4, mask))


def test_hidream_e1_target_rows_interleaved_with_the_edit_image_are_read_first():
    """HiDream E1: [4 target | 4 reference] patches per row, then the text. Only the target rows change, over the
    text keys; the result is the formula with the target rows where they are (an oracle indexing them in place)."""
    call = model_call(
        "HiDreamImageTransformer2DModel",
        {"patch_size": 2},
        torch.zeros(1, 16, 4, 8),
        torch.zeros(1, 3, 8),
        image_cond=torch.zeros(1, 16, 4, 8),
        encoder_hidden_states_llama3=torch.zeros(1, 2, 2, 8),
    )
    layout = families.hidream.hidream_layout(call)
    assert layout.text == slice(16, 23) and layout.image == slice(0, 8) and layout.length == 23
    target = torch.tensor([0, 1, 2, 3, 8, 9, 10, 11])
    assert torch.equal(layout.query_order[:8], target)
    site = pack.nodes.layer_selection.Site("double", 0, None)
    forward = forwards.JointForward(families.registry.HIDREAM, [site], layout)
    override = joint_override.PladisJointAttention(
        1.5, 2.0, pack.nodes.step_range.SigmaRange(1.0, 0.0, True), frozenset({site})
    )
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(1, 23, 32, generator=g) for _ in range(3))  # (B, L, H·D), 2 heads
    k[:, 17] *= 3.0
    out = override(attention.attention_basic, q, k, v, 2, transformer_options={"pladis_joint_forward": forward})
    assert forward.patched_calls == 1
    out = out.view(1, 23, 2, 16).transpose(1, 2).double()

    qh, kh, vh = (t.double().view(1, 23, 2, 16).transpose(1, 2) for t in (q, k, v))
    logits = qh @ kh.transpose(-1, -2) / 4.0
    weights = logits.softmax(dim=-1)
    block = weights[:, :, target, 16:]
    mass = block.sum(dim=-1, keepdim=True)
    weights[:, :, target, 16:] = block + 2.0 * (mass * entmax_reference(logits[:, :, target, 16:], 1.5) - block)
    reference = weights @ vh
    assert (out - reference).abs().max() / reference.abs().max() < 1e-5
    others = torch.tensor([i for i in range(23) if i not in target.tolist()])  # reference patches and text rows
    dense = logits.softmax(dim=-1) @ vh
    torch.testing.assert_close(out[:, :, others], dense[:, :, others], atol=1e-6, rtol=1e-5)


def test_hidream_o1_editing_spliced_vision_tokens_are_not_text_and_reference_rows_stay_dense():
    ids = torch.tensor([[7, 8, 9, 151652, 151655, 151655, 151653, 10, 11, 151673]])  # 3 | vision | 2 | tms
    call = model_call(
        "HiDreamO1Transformer",
        {"patch_size": 32},
        torch.zeros(1, 3, 64, 64),  # 4 target patches
        torch.zeros(1, 10, 8),
        input_ids=ids,
        ar_len=9,
        ref_patches=torch.zeros(1, 6, 3072),
    )
    layout = families.hidream_o1.hidream_o1_layout(call)
    assert layout.length == 20 and layout.text == slice(0, 5) and layout.image == slice(0, 5)
    assert layout.key_order[:5].tolist() == [0, 1, 2, 7, 8] and layout.image_rows_only
    forward = forwards.JointForward(
        families.registry.HIDREAM_O1, [pack.nodes.layer_selection.Site("block", 0, None)], layout
    )
    q, k = torch.randn(1, 11, 64), torch.randn(1, 20, 64)  # the generation pass: tms, target and reference rows
    call = forward.classify(object(), q, k, {}, {"block_index": 0})
    assert call.image == slice(0, 5) and not call.cross and call.key_order is layout.key_order


def test_key_and_query_orders_move_to_the_latents_device_once_per_model_call():
    layout = families.minimax.minimax_h3_layout(minimax_h3_call(tags=torch.tensor([1, 1, 0, 0, 0, 1, 1])))
    moved = forwards.orders_on_device(layout, torch.zeros(1, device="meta"))
    assert moved.key_order.device.type == "meta" and moved.text == layout.text and moved.image == layout.image
    assert forwards.orders_on_device(layout, torch.zeros(1)) is layout  # already there: unchanged


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
