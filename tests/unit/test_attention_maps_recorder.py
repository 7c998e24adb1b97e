"""The attention-map recorder on the stand-ins: UNet attn2 route and DiT override route, with and without PLADIS.

Each test checks that the model's output is bit-identical with the recorder on, and that the recorded maps are the
float64 formula (tests/oracles.py) of the q and k the model's attention calls received, averaged over the calls.
"""

import pytest
import torch
from comfy.patcher_extension import WrappersMP
from comfy_standins import make_dit_patcher, make_model_patcher, run_dit, run_unet
from oracles import aggregate, cross_reference, entmax_reference, joint_weights_reference
from pack import import_pack

pack = import_pack()
recorder = pack.nodes.attention_maps.recorder
patching = pack.nodes.patching
SigmaRange = pack.nodes.step_range.SigmaRange

WORD_KEYS = ((3,), (5, 6, 7), (2, 9))
ALPHA, SCALE = 1.5, 2.0


def recording(alpha=ALPHA, scale=SCALE, family="UNet", step_range=None, word_keys=WORD_KEYS):
    return recorder.Recording(
        words=("a", "b", "c"),
        word_keys=word_keys,
        alpha=alpha,
        scale=scale,
        step_range=step_range or SigmaRange(float("inf"), 0.0, whole_schedule=True),
        family=family,
    )


def with_recorder(model, rec):
    clone = model.clone()
    target = patching.recognise(clone.get_model_object("diffusion_model"))
    recorder.install_recorder(clone, rec, target)
    return clone


def pladis(model, scale=SCALE, layers="default"):
    patched, _ = patching.apply_pladis(model, patching.PatchRequest(ALPHA, scale, 0.0, 1.0, layers))
    return patched


def capture_unet_qk(model):
    """The (q, k) each attn2 receives, in call order, through forward hooks on to_q / to_k."""
    calls, handles = [], []
    for module in model.get_model_object("diffusion_model").modules():
        attn2 = getattr(module, "attn2", None)
        if attn2 is None:
            continue
        entry = {}
        handles.append(attn2.to_q.register_forward_hook(lambda m, i, o, e=entry: e.__setitem__("q", o)))
        handles.append(attn2.to_k.register_forward_hook(lambda m, i, o, e=entry: calls.append((e["q"], o))))
    return calls, handles


def unet_inputs(seed=1, context_tokens=77):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 16, 32, generator=g)  # the stand-in's 16 tokens: a 4 × 4 grid
    context = torch.randn(2, context_tokens, 24, generator=g) * 2
    return x, context


def expected_unet_maps(calls, scale, heads=4, cond_row=1):
    total = None
    for q, k in calls:
        split = [t[cond_row : cond_row + 1].view(1, t.shape[1], heads, -1).transpose(1, 2) for t in (q, k)]
        maps = torch.stack(cross_reference(*split, WORD_KEYS, ALPHA, scale))
        total = maps if total is None else total + maps
    return total / len(calls)


def assert_recorded(rec, expected, size=(4, 4)):
    got = torch.stack(tuple(rec.accumulator.latent_maps(size)))
    assert got.shape == (3, 1, 3, *size)
    error = float((got - expected.view_as(got)).abs().max())
    assert error < 1e-5, error


@pytest.mark.parametrize("patched", [False, True], ids=["dense model", "PLADIS model"])
def test_unet_recorder_leaves_the_output_identical_and_records_the_formula(patched):
    model = make_model_patcher()
    if patched:
        model = pladis(model)
    x, context = unet_inputs()
    reference = run_unet(model, x, context)
    rec = recording(scale=3.0)  # the node's λ: used only where the model has no PLADIS
    recorded = with_recorder(model, rec)
    calls, handles = capture_unet_qk(recorded)
    try:
        out = run_unet(recorded, x, context)
    finally:
        for handle in handles:
            handle.remove()
    assert torch.equal(out, reference)
    # with PLADIS: only the layers it patched (default: input and output blocks) and its own λ
    replacements = recorded.attn2_replacements()
    recorded_sites = [key for key, patch in replacements.items() if isinstance(patch, recorder.RecordingCrossAttention)]
    all_sites = [tuple(s) for s in patching.recognise(model.get_model_object("diffusion_model")).sites]
    assert rec.recorded_calls == len(recorded_sites)
    if patched:
        chosen = [i for i, site in enumerate(all_sites) if site[0] != "middle"]
        assert len(recorded_sites) == len(chosen) < len(all_sites)
        calls = [calls[i] for i in chosen]
    else:
        assert len(recorded_sites) == len(all_sites)
    assert_recorded(rec, expected_unet_maps(calls, SCALE if patched else 3.0))


def test_unet_lambda_zero_gives_identical_dense_and_pladis_maps():
    rec = recording(scale=0.0)
    run_unet(with_recorder(make_model_patcher(), rec), *unet_inputs())
    maps = rec.accumulator.latent_maps((4, 4))
    assert torch.equal(maps.dense, maps.pladis) and not torch.equal(maps.dense, maps.sparse)


def test_unet_steps_outside_the_range_are_not_recorded_and_sampling_resets():
    rec = recording(step_range=SigmaRange(5.0, 2.0, whole_schedule=False))
    model = with_recorder(make_model_patcher(), rec)
    x, context = unet_inputs()
    run_unet(model, x, context, sigma=1.0)
    assert rec.accumulator.empty
    run_unet(model, x, context, sigma=3.0)
    assert not rec.accumulator.empty
    (reset,) = model.get_wrappers(WrappersMP.OUTER_SAMPLE, recorder.RESET_KEY)
    reset(lambda: None)
    assert rec.accumulator.empty and rec.recorded_calls == 0


def test_unet_cond_repeated_to_a_common_length_is_read_once():
    """ComfyUI repeats a 77-key cond to 154 keys next to a 154-key uncond: the words keep their weights."""
    x, context = unet_inputs()
    doubled = context.repeat(1, 2, 1)
    rec_once, rec_twice = recording(), recording()
    run_unet(with_recorder(make_model_patcher(), rec_once), x, context)
    run_unet(with_recorder(make_model_patcher(), rec_twice), x, doubled)
    maps = (rec_once.accumulator.latent_maps((4, 4)), rec_twice.accumulator.latent_maps((4, 4)))
    for once, twice in zip(*maps, strict=True):
        torch.testing.assert_close(once, twice, atol=1e-6, rtol=0)


def test_uncond_only_batches_are_not_recorded():
    rec = recording()
    run_unet(with_recorder(make_model_patcher(), rec), *unet_inputs(), cond_or_uncond=(1, 1))
    assert rec.accumulator.empty


def dit_inputs(seed=2, n_text=20):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(1, 4, 8, 8, generator=g), torch.randn(1, n_text, 24, generator=g) * 2


def expected_joint_maps(calls, n_text, scale):
    """The text block of the joint formula's weights for the image rows: dense, text mass × α-entmax, PLADIS."""
    total = None
    for call in calls:
        q, k, v = call["q"], call["k"], call["v"]
        image, text = slice(n_text, q.shape[2]), slice(0, n_text)
        logits = q.double() @ k.double().transpose(-1, -2) / q.shape[-1] ** 0.5
        dense = logits.softmax(-1)[..., image, text]
        sparse = dense.sum(-1, keepdim=True) * entmax_reference(logits[..., image, text], ALPHA)
        weights = joint_weights_reference(q, k, v, text, image, ALPHA, scale)[..., image, text]
        maps = torch.stack([aggregate(w, WORD_KEYS) for w in (dense, sparse, weights)])
        total = maps if total is None else total + maps
    return total / len(calls)


@pytest.mark.parametrize("patched", [False, True], ids=["dense model", "PLADIS model"])
def test_joint_dit_recorder_leaves_the_output_identical_and_records_the_formula(patched):
    model = make_dit_patcher()
    if patched:
        model = pladis(model)
    x, context = dit_inputs()
    reference = run_dit(model, x, context)
    rec = recording(scale=3.0, family="Flux")
    recorded = with_recorder(model, rec)
    diffusion_model = recorded.get_model_object("diffusion_model")
    diffusion_model.calls.clear()
    out = run_dit(recorded, x, context)
    assert torch.equal(out, reference)
    assert rec.recorded_calls == len(diffusion_model.calls) == 4
    assert_recorded(rec, expected_joint_maps(diffusion_model.calls, 20, SCALE if patched else 3.0))


def test_pladis_after_the_recorder_is_reported_not_silently_recorded():
    rec = recording(family="Flux")
    model = pladis(with_recorder(make_dit_patcher(), rec))
    run_dit(model, *dit_inputs())
    assert rec.accumulator.empty and any("after the recorder" in reason for reason in rec.skipped)


def test_families_without_a_word_layout_are_refused_clearly():
    model = make_dit_patcher()
    target = patching.recognise(model.get_model_object("diffusion_model"))
    unknown = type(target)(
        route=target.route,
        family=pack.nodes.families.qwen.QWEN_IMAGE,  # its text keys are not the prompt's tokens one to one
        sites=target.sites,
        default_parts=target.default_parts,
        attention=target.attention,
    )
    with pytest.raises(recorder.UnsupportedForMapsError, match="Qwen-Image"):
        recorder.install_recorder(model.clone(), recording(), unknown)


PIXART_WORD_KEYS = ((1,), (2, 3), (0, 5))


@pytest.mark.parametrize("patched", [False, True], ids=["dense model", "PLADIS model"])
def test_pixart_recorder_leaves_the_output_identical_and_records_the_formula(patched):
    from test_object_patch import HEADS, inputs, make, run

    model = make("pixart")
    if patched:
        model = pladis(model)
    x, context = inputs()
    reference = run(model, x, context)
    rec = recording(scale=3.0, family="PixArt", word_keys=PIXART_WORD_KEYS)
    recorded = with_recorder(model, rec)
    seen, handles = {}, []
    for block in model.model.diffusion_model.blocks:
        attn = block.cross_attn
        handles.append(attn.q_linear.register_forward_hook(lambda m, i, o, a=attn: seen.setdefault(a, {}).update(q=o)))
        handles.append(
            attn.kv_linear.register_forward_hook(lambda m, i, o, a=attn: seen.setdefault(a, {}).update(kv=o))
        )
    try:
        out = run(recorded, x, context)
    finally:
        for handle in handles:
            handle.remove()
    assert torch.equal(out, reference)
    assert rec.recorded_calls == len(seen) == 2
    total = 0
    for qk in seen.values():
        q, k = (t.view(1, -1, HEADS, t.shape[-1] // HEADS).transpose(1, 2) for t in (qk["q"], qk["kv"][..., :32]))
        total = total + torch.stack(cross_reference(q, k, PIXART_WORD_KEYS, ALPHA, SCALE if patched else 3.0))
    got = torch.stack(tuple(rec.accumulator.latent_maps((4, 4))))
    assert float((got - (total / 2).view_as(got)).abs().max()) < 1e-5


def test_nodes_have_tooltips_on_every_input_and_are_registered():
    import asyncio

    nodes = pack.nodes.attention_maps.nodes
    listed = asyncio.run(pack.nodes.PladisExtension().get_node_list())
    for node in (nodes.PLADISAttentionMapsRecord, nodes.PLADISAttentionMaps):
        schema = node.define_schema()
        schema.validate()
        assert node in listed
        assert all(i.tooltip for i in schema.inputs) and all(o.tooltip for o in schema.outputs)


def record_node(model, words="cat, red hat", prompt="a photo of a cat in a red hat"):
    from attention_map_tokenizers import sdxl_clip

    node = pack.nodes.attention_maps.nodes.PLADISAttentionMapsRecord
    out = node.execute(
        model=model, clip=sdxl_clip(), prompt=prompt, words=words, alpha=ALPHA, scale=SCALE,
        start_percent=0.0, end_percent=1.0,
    ).result  # fmt: skip
    return out


def test_record_then_maps_nodes_draw_the_grid_and_masks():
    pytest.importorskip("PIL")
    model, rec = record_node(make_model_patcher())
    assert rec.words == ("cat", "red hat") and len(rec.word_keys[1]) == 2
    maps_node = pack.nodes.attention_maps.nodes.PLADISAttentionMaps
    with pytest.raises(ValueError, match="no attention call was recorded"):
        maps_node.execute(maps=rec, samples={"samples": torch.zeros(1, 4, 4, 4)})
    run_unet(model, *unet_inputs())
    grid, masks = maps_node.execute(maps=rec, samples={"samples": torch.zeros(1, 4, 4, 4)}).result
    assert grid.dim() == 4 and grid.shape[0] == 1 and grid.shape[-1] == 3
    assert masks.shape == (2, 32, 32) and float(masks.amax()) == 1.0


def test_record_node_refuses_a_word_not_in_the_prompt():
    with pytest.raises(ValueError, match="matches no token"):
        record_node(make_model_patcher(), words="dog")
