"""Token layouts of MageFlow, Krea2, OmniGen2, JoyImage and Lens from a model call's inputs (the tiny real
models are in tests/integration/comfyui_family_runner.py)."""

import torch
from pack import import_pack

families = import_pack().nodes.families

CONTEXT = torch.zeros(1, 5, 8)


def call(class_name, attributes, x, context=CONTEXT, **conds):
    diffusion_model = type(class_name, (), attributes)()
    return families.family_of(diffusion_model), families.ModelCall(diffusion_model, None, x, context, conds)


def test_mageflow_is_text_first_one_token_per_latent_pixel_with_references_after_the_image():
    family, model_call = call(
        "MageFlowTransformer2DModel",
        {"patch_size": 1, "transformer_blocks": []},
        torch.zeros(1, 128, 4, 4),
        ref_latents=[torch.zeros(1, 128, 3, 3)],
    )
    layout = family.layout(model_call)
    assert family is families.registry.MAGEFLOW
    assert layout.text == slice(0, 5) and layout.image == slice(5, 21) and layout.length == 21


def test_krea2_counts_the_image_tokens_of_one_frame():
    attributes = {"patch": 2, "blocks": [], "txtfusion": object()}
    family, model_call = call("SingleStreamDiT", attributes, torch.zeros(1, 16, 3, 8, 8))
    layout = family.layout(model_call)  # frames run as batch elements: [text 5 | image 16] each
    assert family is families.registry.KREA2 and family.part_names == ("single",)
    assert layout.text == slice(0, 5) and layout.image == slice(5, 21) and layout.length == 21


def test_a_single_stream_dit_without_krea2s_text_adapter_is_refused():
    family, _ = call("SingleStreamDiT", {"patch": 2, "blocks": []}, torch.zeros(1, 16, 8, 8))
    assert family is None


def test_omnigen2_changes_only_the_target_images_rows():
    family, model_call = call(
        "OmniGen2Transformer2DModel",
        {"patch_size": 2, "layers": []},
        torch.zeros(1, 16, 8, 8),
        ref_latents=[torch.zeros(1, 16, 4, 4), torch.zeros(1, 16, 3, 3)],  # 4 + 4 tokens (padded to patches)
    )
    layout = family.layout(model_call)  # [text 5 | references 8 | target 16]
    assert layout.text == slice(0, 5) and layout.image == slice(13, 29) and layout.length == 29


def test_joyimage_is_image_first_with_references_before_the_text():
    family, model_call = call(
        "JoyImageTransformer3DModel",
        {"patch_size": [1, 2, 2], "double_blocks": []},
        torch.zeros(1, 16, 1, 8, 8),
        ref_latents=[torch.zeros(1, 16, 1, 4, 4)],
    )
    layout = family.layout(model_call)  # [target 16 | reference 4 | text 5]
    assert layout.image == slice(0, 16) and layout.text == slice(20, 25) and layout.length == 25


def test_lens_is_image_first_one_token_per_packed_latent_pixel():
    family, model_call = call(
        "LensTransformer2DModel", {"patch_size": 2, "transformer_blocks": []}, torch.zeros(1, 128, 4, 4)
    )
    layout = family.layout(model_call)
    assert layout.image == slice(0, 16) and layout.text == slice(16, 21) and layout.length == 21
