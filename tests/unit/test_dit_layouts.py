"""Each DiT family's token layout: which keys are text, which query rows change, and how the attention calls are
told apart, from a model call's inputs (nodes/families/)."""

import pytest
import torch
from checks import assert_close, assert_equal
from comfy.ldm.modules import attention
from comfy_standins import JointBaseModelStandIn, PackedLayoutStandIn
from dit_calls import attention_call, dit, families, forwards, joint_forward, joint_override, layout_wrapper, model_call
from oracles import entmax_reference
from pack import import_pack

pack = import_pack()


def test_sd3_register_tokens_are_filler():
    diffusion_model = type("OpenAISignatureMMDITWrapper", (), {"patch_size": 2, "register_length": 2})()
    call = families.ModelCall(diffusion_model, object(), torch.zeros(1, 16, 8, 8), torch.zeros(1, 7, 48))
    layout = families.registry.SD3.layout(call)
    forward = joint_forward("OpenAISignatureMMDITWrapper", layout)
    q = torch.randn(1, 25, 64)  # (B, L, H·D): 2 registers, 7 text tokens, then 16 image tokens
    call = forward.classify(object(), q, q, {}, {})
    assert call.text == slice(2, 9) and call.image == slice(9, 25)
    assert forward.classify(object(), q[:, :16], q[:, :16], {}, {}) is None  # SD3.5's image-only attention


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


def test_stage_c_text_keys_follow_each_levels_own_image_tokens():
    # Keys [image | 5 CLIP-text | 4 pooled | 4 CLIP-image]: the text columns sit after this level's queries.
    forward = joint_forward("StageC", families.TokenLayout(slice(0, 5), slice(0, 0), 13))
    for n_image in (64, 16):
        q, k = torch.randn(1, 2, n_image, 8), torch.randn(1, 2, n_image + 13, 8)
        call = forward.classify(object(), q, k, {"skip_reshape": True}, {})
        assert (call.text, call.image, call.cross) == (slice(n_image, n_image + 5), slice(0, n_image), False)
    q = torch.randn(1, 2, 64, 8)
    assert forward.classify(object(), q, q, {"skip_reshape": True}, {}) is None  # not [image | context]


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
    assert_close(out, reference, atol=1e-5 * reference.abs().max(), what="video rows vs the formula")
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
    assert_equal(args[1], k[:, order], "keys read in order")
    assert_equal(moved_mask[:, :, 6], mask[:, :, 4], "the mask's column moved with its key")
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
    assert_equal(layout.query_order[:8], target, "target rows read first")
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
    assert_close(out, reference, atol=1e-5 * reference.abs().max(), what="target rows vs the formula")
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
