"""The models PLADIS refuses, and why: unknown classes, known classes without their blocks, unverified
subclasses and the models refused on purpose."""

import pytest
import torch
from comfy_standins import JointBaseModelStandIn, StandInModelPatcher
from pack import import_pack, patch

pack = import_pack()
families = pack.nodes.families


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


def test_an_unlisted_subclass_of_a_known_family_is_refused_as_unverified():
    class Flux(torch.nn.Module):
        pass

    class FluxWithOtherTokens(Flux):
        pass

    model = StandInModelPatcher(JointBaseModelStandIn(FluxWithOtherTokens()))
    with pytest.raises(ValueError, match=r"FluxWithOtherTokens is a variant of Flux .*not been verified"):
        patch(model)


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
