"""PLADIS through object patches (nodes/object_patch.py) on stand-ins shaped like PixArt, HunyuanDiT and
ERNIE-Image, with a ModelPatcher stand-in that applies object patches as ComfyUI does."""

import copy
import importlib

import pytest
import torch
from checks import assert_close, assert_differ, assert_equal
from comfy_standins import _Executor
from object_patch_standins import DIM, HEADS, DiTStandIn, make, tokens
from oracles import joint_reference, pladis_reference
from pack import import_pack, patch

pack = import_pack()
object_patch = importlib.import_module(f"{pack.__name__}.nodes.object_patch")
object_patched = importlib.import_module(f"{pack.__name__}.nodes.families.object_patched")

TEXT, IMAGE = 6, 16


def inputs(batch=1, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 4, 4, 4, generator=g), torch.randn(batch, TEXT, 24, generator=g)


def run(model_patcher, x, context, sigma=1.0, **conds):
    """One model call with the clone loaded (object patches set), unloaded afterwards."""
    base = model_patcher.model

    def apply_model(x, t, c_concat, c_crossattn, control, transformer_options, **kwargs):
        return base.diffusion_model(x, c_crossattn, transformer_options, **kwargs)

    wrappers = [w for ws in model_patcher.wrappers.get("apply_model", {}).values() for w in ws]
    options = {"sigmas": torch.full((1,), float(sigma)), "cond_or_uncond": [0]}
    model_patcher.patch_model()
    try:
        with torch.no_grad():
            return _Executor(wrappers, apply_model, base)(
                x, torch.full((1,), float(sigma)), None, context, None, options, **conds
            )
    finally:
        model_patcher.unpatch_model()


@pytest.mark.parametrize("kind", ["pixart", "hunyuan", "ernie"])
def test_each_block_is_object_patched_on_the_clone_only(kind):
    model = make(kind)
    modules = [m for m in model.model.diffusion_model.modules() if m.__class__.__name__.endswith("StandIn")]
    patched, report = patch(model)
    assert report["patched"] == report["available"] == 2
    assert len(patched.object_patches) == 2 and not model.object_patches
    for name, twin in patched.object_patches.items():
        original = model.get_model_object(name)
        assert type(twin) is type(original) and twin is not original
        assert dict(twin.named_parameters()) == dict(original.named_parameters())  # the same weights
        assert isinstance(twin.forward, object_patch.PladisForward)
    assert all("forward" not in vars(m) for m in modules)


def test_pixart_cross_attention_is_pladis_over_every_text_key_and_the_model_is_restored():
    model = make("pixart", depth=1)
    x, context = inputs(batch=2)
    dense = run(model, x, context)
    patched, _ = patch(model)
    out = run(patched, x, context)
    dm = model.model.diffusion_model
    attn = dm.blocks[0].cross_attn
    image, text = dm.img_in(x.flatten(2).transpose(1, 2)), dm.txt_in(context)
    k, v = attn.kv_linear(text).chunk(2, dim=-1)
    expected = image + attn.proj(pladis_reference(attn.q_linear(image), k, v, HEADS, 1.5, 2.0).float())
    assert_close(out, expected, atol=1e-5 * expected.abs().max(), what="patched output vs the formula")
    assert not torch.equal(out, dense)
    assert_equal(run(model, x, context), dense, "unloaded: the original modules are back")
    assert "forward" not in vars(attn) and dm.blocks[0].cross_attn is attn


def test_without_the_object_patch_mechanism_nothing_would_change():
    # The twins act only while the clone is loaded: the shared model itself is never edited.
    model = make("pixart", depth=1)
    x, context = inputs()
    patched, _ = patch(model)
    patched.object_patches.clear()
    assert_equal(run(patched, x, context), run(model, x, context), "patched vs unpatched")


def test_hunyuan_dit_padding_positions_keep_their_dense_weights():
    model = make("hunyuan", depth=1)
    x, context = inputs()
    masks = {"text_embedding_mask": torch.tensor([[1, 1, 1, 0]]), "text_embedding_mask_t5": torch.tensor([[1, 0]])}
    patched, _ = patch(model)
    out = run(patched, x, context, **masks)
    dm = model.model.diffusion_model
    attn = dm.blocks[0].attn2
    image = dm.img_in(x.flatten(2).transpose(1, 2))
    q, k, v = attn.project(image, dm.txt_in(context))
    keys = torch.tensor([0, 1, 2, 4, 3, 5])  # text keys first: attention does not depend on key order
    reference = joint_reference(q, k[:, :, keys], v[:, :, keys], slice(0, 4), slice(0, IMAGE), 1.5, 2.0)
    expected = image + attn.out_proj(tokens(reference.float()))
    assert_close(out, expected, atol=1e-5 * expected.abs().max(), what="patched output vs the formula")
    all_text = joint_reference(q, k, v, slice(0, TEXT), slice(0, IMAGE), 1.5, 2.0)
    assert_differ(image + attn.out_proj(tokens(all_text.float())), out, more_than=1e-3, what="the mask mattered")


def test_hunyuan_dit_text_keys_from_its_masks():
    call = pack.nodes.families.ModelCall(None, None, None, None, {
        "text_embedding_mask": torch.tensor([[1, 0]]), "text_embedding_mask_t5": torch.tensor([[1, 1, 0]])
    })  # fmt: skip
    assert object_patched.hunyuan_dit_text_keys(call).tolist() == [[True, False, True, True, False]]
    full = {"text_embedding_mask": torch.ones(1, 2), "text_embedding_mask_t5": torch.ones(1, 3)}
    assert object_patched.hunyuan_dit_text_keys(pack.nodes.families.ModelCall(None, None, None, None, full)) is None


def test_ernie_image_rows_change_over_the_text_keys_only():
    model = make("ernie", depth=1)
    x, context = inputs()
    patched, report = patch(model)
    assert report["architecture"] == "joint-attention"
    out = run(patched, x, context)
    dm = model.model.diffusion_model
    attn = dm.layers[0].self_attention
    h = torch.cat([dm.img_in(x.flatten(2).transpose(1, 2)), dm.txt_in(context)], dim=1)
    reference = joint_reference(*attn.project(h), slice(IMAGE, IMAGE + TEXT), slice(0, IMAGE), 1.5, 2.0)
    expected = h + attn.to_out[0](tokens(reference.float()))
    assert_close(out, expected, atol=1e-5 * expected.abs().max(), what="patched output vs the formula")
    dense = run(model, x, context)
    assert_close(out[:, IMAGE:], dense[:, IMAGE:], atol=1e-5, what="text rows: dense attention")
    assert_differ(out[:, :IMAGE], dense[:, :IMAGE], more_than=1e-3, what="image rows")


def test_outside_the_step_range_and_outside_a_model_call_the_modules_own_forward_runs():
    model = make("pixart")
    x, context = inputs()
    dense = run(model, x, context, sigma=0.1)
    patched, _ = patch(model, start_percent=0.0, end_percent=0.5)
    assert_equal(run(patched, x, context, sigma=0.1), dense, "σ below the range's end")
    assert not torch.equal(run(patched, x, context, sigma=10.0), run(model, x, context, sigma=10.0))
    twin = patched.object_patches["diffusion_model.blocks.0.cross_attn"]
    image, text = torch.randn(1, IMAGE, DIM), torch.randn(1, TEXT, DIM)
    assert object_patch.CURRENT_CALL.get(None) is None
    with torch.no_grad():
        assert_equal(twin(image, text), type(twin).forward(twin, image, text), "the twin vs its own forward")


def test_layer_selection_and_scale_zero():
    model = make("hunyuan", depth=3)
    patched, report = patch(model, layers="custom", custom_layers="block 1")
    assert list(patched.object_patches) == ["diffusion_model.blocks.1.attn2"] and report["patched"] == 1
    unpatched, report = patch(model, scale=0.0)
    assert not unpatched.object_patches and report["patched"] == 0


def test_a_subclass_is_not_assumed_to_share_the_layout():
    model = make("pixart")
    dm = model.model.diffusion_model
    dm.__class__ = type("PixArtVariant", (type(dm),), {})
    with pytest.raises(ValueError, match="cannot patch"):
        patch(model)


def test_inputs_the_family_does_not_handle_run_dense_and_are_reported_once(caplog, monkeypatch):
    class MaskingDiT(DiTStandIn):
        def forward(self, x, context, transformer_options, **kwargs):
            image, text = self.img_in(x.flatten(2).transpose(1, 2)), self.txt_in(context)
            for block in self.blocks:  # PixArt's cross-attention with a mask, which ComfyUI does not pass today
                image = image + block.cross_attn(image, text.reshape(1, -1, DIM), mask=[TEXT])
            return image

    model = make("pixart")
    model.model.diffusion_model.__class__ = type("PixArtMS", (MaskingDiT,), {})
    monkeypatch.setattr(object_patch, "_warned", {})
    x, context = inputs()
    dense = run(model, x, context)
    patched, _ = patch(model)
    with caplog.at_level("WARNING"):
        assert_equal(run(patched, x, context), dense, "patched vs dense")
        run(patched, x, context)
    assert sum("PLADIS did nothing" in r.message for r in caplog.records) == 1


@pytest.mark.parametrize("kind", ["pixart", "hunyuan", "ernie"])
def test_two_nodes_on_the_same_blocks_add_their_effects(kind):
    model = make(kind, depth=1)  # one block: its output is linear in each attention's output
    x, context = inputs(batch=2)
    dense = run(model, x, context)
    first, _ = patch(model, scale=1.0)
    both, _ = patch(first, scale=1.5, alpha=2.0)
    sparsemax_only, _ = patch(model, scale=1.5, alpha=2.0)
    # softmax + 1·(entmax15 − softmax) + 1.5·(sparsemax − softmax), per attention: the corrections add
    expected = run(first, x, context) + run(sparsemax_only, x, context) - dense
    out = run(both, x, context)
    assert_close(out, expected, atol=1e-5 * expected.abs().max(), what="patched output vs the formula")
    # the second node only inside its step range: outside it, the first node's PLADIS alone
    early, _ = patch(first, scale=1.5, alpha=2.0, start_percent=0.0, end_percent=0.5)
    assert_equal(run(early, x, context, sigma=0.1), run(first, x, context, sigma=0.1), "outside the early range")
    assert not torch.equal(run(early, x, context, sigma=10.0), run(first, x, context, sigma=10.0))


def test_the_family_is_detected_at_patch_time_only(monkeypatch):
    from route_checks import assert_detected_at_patch_time_only

    x, context = inputs()
    assert_detected_at_patch_time_only(
        monkeypatch, pack, lambda: patch(make("pixart"))[0], lambda patched, sigma: run(patched, x, context, sigma)
    )


def test_two_pladis_nodes_over_a_foreign_object_patch_report_the_patches_they_keep():
    model = make("pixart")
    name = "diffusion_model.blocks.1.cross_attn"
    foreign = copy.copy(model.get_model_object(name))  # another node's module in that block
    model.add_object_patch(name, foreign)
    once, first = patch(model, scale=1.0)
    twice, second = patch(once, scale=1.0)
    assert (first["kept_patches"], second["kept_patches"]) == (1, 2)
    assert "kept 2 earlier attention patch(es)" in second["summary"]
    assert isinstance(twice.object_patches[name].forward.previous, object_patch.PladisForward)
    x, context = inputs()
    reference, _ = patch(model, scale=2.0)
    torch.testing.assert_close(run(twice, x, context), run(reference, x, context), atol=1e-5, rtol=0)
