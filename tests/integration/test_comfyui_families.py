"""PLADIS on a tiny model of each DiT family, in a real ComfyUI (opt-in: COMFYUI_PATH); see
comfyui_family_runner.py. A family this ComfyUI does not have is skipped."""

import pytest
from comfyui import requires_comfyui, run_in_comfyui

pytestmark = requires_comfyui

KINDS = (
    "flux2",
    "longcat",
    "chroma_radiance",
    "wan_vace",
    "wan_camera",
    "wan_humo",
    "wan_s2v",
    "wan_animate",
    "wan_scail",
    "wan_scail2",
    "wan_animate2",
    "wan_dancer",
    "hunyuan_video",
    "hunyuan_video15",
    "hunyuan_image21",
    "hunyuan_video_i2v",
    "hunyuan_skyreels_i2v",
    "hunyuan_video15_sr",
    "hunyuan_image21_refiner",
    "lumina2",
    "zimage",
    "zimage_pixel",
    "cosmos_predict2",
    "cosmos_predict1",
    "anima",
    "ltxv",
    "hidream",
    "kandinsky5",
    "kandinsky5_image",
    "auraflow",
    "cogvideox",
    "mageflow",
    "krea2",
    "omnigen2",
    "boogu",
    "joyimage",
    "lens",
    "ideogram4",
    "pixeldit",
    "pixeldit_pid",
    "hidream_o1",
    "stable_cascade_c",
    "mochi",
    "ltx2",
    "ltx23",
    "minimax_h3",
    "minimax_h3_i2v",
    "hidream_e1",
    "zimage_omni",
    "hidream_o1_edit",
)

# The families whose every text attention block is a default block, and whose runner case says which calls are
# text attention exactly: none of those calls may stay dense.
CHECKED_FOR_MISSED_CALLS = (
    "boogu",
    "cosmos_predict1",
    "hidream_e1",
    "hidream_o1",
    "hidream_o1_edit",
    "hunyuan_image21_refiner",
    "hunyuan_skyreels_i2v",
    "hunyuan_video15_sr",
    "hunyuan_video_i2v",
    "ideogram4",
    "ltx2",
    "ltx23",
    "minimax_h3",
    "minimax_h3_i2v",
    "mochi",
    "pixeldit",
    "pixeldit_pid",
    "stable_cascade_c",
    "wan_animate2",
    "wan_dancer",
    "wan_scail2",
    "zimage_omni",
    "zimage_pixel",
)


@pytest.fixture(scope="module", params=KINDS)
def report(request):
    result = run_in_comfyui("comfyui_family_runner.py", request.param)
    if result["absent"]:
        pytest.skip(f"this ComfyUI has no {request.param}")
    if result["cfg1_calls"] == 0 and result["comfyui"].startswith("0.3."):
        # ComfyUI 0.3.x calls some models' attention without transformer_options (Wan S2V): PLADIS cannot reach
        # it there, and logs so; ComfyUI 0.33 routes it.
        pytest.skip(f"ComfyUI {result['comfyui']} does not route {request.param}'s attention through the override")
    return result


def test_patches_every_default_block(report):
    assert report["loaded"]
    # LTX-2: the video stream's text cross-attention of every block; the audio stream's is an option (other_runs)
    default = report["available"] // 2 if report["kind"].startswith("ltx2") else report["available"]
    assert report["patched"] == default > 0


def test_sampling_is_finite_changed_and_scale_zero_is_bit_identical(report):
    assert report["finite"] and report["changes_output"] and report["cfg2_finite"]
    assert report["scale0_bit_identical"]


@pytest.mark.parametrize("cfg", ["cfg1", "cfg2"])
def test_every_text_attention_matches_the_float64_formula_on_the_familys_text_keys(report, cfg):
    # Relative to max|out|; every other row, column and call is compared with dense attention.
    assert report[f"{cfg}_changed_calls"] > 0
    assert report[f"{cfg}_oracle_max_error"] <= 1e-4
    assert report[f"{cfg}_dense_max_error"] <= 1e-4


def test_other_layer_choices_match_the_formula(report):
    # LTX-2's audio text cross-attention (the "audio" part, not a default)
    if not report["other_runs"]:
        pytest.skip("this family is checked with its default layers only")
    for name in report["other_runs"]:
        assert report[f"{name}_patched"] == report["available"]
        assert report[f"{name}_changed_calls"] > 0
        assert report[f"{name}_oracle_max_error"] <= 1e-4 and report[f"{name}_dense_max_error"] <= 1e-4


def test_padded_families_batch_prompts_of_different_lengths(report):
    if report["kind"] in ("flux2", "anima", "ltx2", "ltx23"):
        assert report["cfg2_batched"] == 2  # cond and uncond in one call, each with its own filler


def test_an_attention_backend_node_after_pladis_gives_the_output_of_it_before_pladis():
    report = run_in_comfyui("comfyui_family_runner.py", "backend_order")
    if report["absent"]:
        pytest.skip("this ComfyUI has no ModelAttentionBackend node")
    assert report["loaded"] and report["finite"] and report["pladis_acts_after"]
    assert report["after_equals_before_max_diff"] == 0.0
    assert report["after_changed_calls"] == 4
    assert report["after_oracle_max_error"] <= 1e-4 and report["after_dense_max_error"] <= 1e-4


@pytest.mark.parametrize("cfg", ["cfg1", "cfg2"])
def test_every_text_attention_call_is_patched(report, cfg):
    if report["kind"] not in CHECKED_FOR_MISSED_CALLS:
        pytest.skip("checked for the families whose every text attention block is a default block")
    assert report[f"{cfg}_missed_calls"] == 0


def test_ltx2_given_a_prompt_already_through_its_connector_is_left_unchanged_and_says_so():
    report = run_in_comfyui("comfyui_family_runner.py", "ltx2_compat")
    if report["absent"]:
        pytest.skip("this ComfyUI has no LTX-2")
    assert report["loaded"] and report["changed_calls"] == 0 and report["equals_unpatched"]
    assert report["logged"] == 1  # once, not at every model call


def test_the_classes_refused_by_name_exist_in_this_comfyui():
    # a stale name would refuse nothing; ComfyUI 0.3.64 lacks the newer models (Causal Wan, SeedVR2, ACE-Step 1.5…)
    report = run_in_comfyui("comfyui_family_runner.py", "refused_classes")
    assert all(report["families"].values())
    present = report["diffusion_classes"]
    if report["comfyui"].startswith("0.3."):
        assert present["StageB"] and present["AudioDiffusionTransformer"] and present["Hunyuan3Dv2"]
    else:
        assert all(present.values()), [name for name, there in present.items() if not there]
