"""Word → key matching with ComfyUI's real tokenizers (opt-in: COMFYUI_PATH); see attention_map_tokens_runner.py.

Each matched key is decoded by the tokenizer's own ``decode``, independently of the pack's piece decoding.
A tokenizer this ComfyUI lacks (or whose vocabulary file this build does not ship) is skipped."""

import pytest
from comfyui import requires_comfyui, run_in_comfyui

pytestmark = requires_comfyui
TOKENIZERS = [
    "sd1_clip_l",
    "sdxl_clip_g",
    "sdxl_clip_l",
    "sd3_t5xxl",
    "flux_t5xxl",
    "qwen_image_qwen25",
    "hunyuan_video_llama3",
    "z_image_qwen3",
]
CLIP = {"sd1_clip_l", "sdxl_clip_g", "sdxl_clip_l"}


@pytest.fixture(scope="module")
def reports():
    return run_in_comfyui("attention_map_tokens_runner.py")


@pytest.fixture(params=TOKENIZERS)
def report(request, reports):
    result = reports[request.param]
    if result["absent"]:
        pytest.skip(f"{request.param}: {result['why']}")
    return request.param, result


def joined(texts):
    return "".join(texts).replace(" ", "").casefold()


def test_each_word_lands_on_the_tokens_that_spell_it(report):
    name, result = report
    words = result["words"]
    assert result["style"] == ("clip" if name in CLIP else "sentencepiece" if "t5" in name else "bytelevel")
    assert len(words["cat"]["keys"]) == 2  # "Cat" and "cat": both occurrences, whatever the case
    assert [t.strip().casefold() for t in words["cat"]["texts"]] == ["cat", "cat"]
    assert joined(words["red hat"]["texts"]) == "redhat"  # from "(red hat:1.2)"
    assert joined(words["überraschung"]["texts"]) == "überraschung"
    assert joined(words["break"]["texts"]) == "break"  # ComfyUI has no BREAK syntax: a word like any other
    # a word split in sub-word pieces gets all of them
    assert max(len(words["überraschung"]["keys"]), len(words["break"]["keys"])) > 1


def test_a_long_prompt_keeps_the_words_keys_past_the_first_chunk(report):
    name, result = report
    if name in CLIP:
        assert result["long_chunks"] == [77, 77, 77]  # 3 × 77 keys, start/end/pad tokens included
        assert min(result["long_red_hat_keys"]) > 154
    assert result["long_red_hat_text"].replace(" ", "") == "redhat"


def test_a_word_not_in_the_prompt_is_a_clear_capped_error(report):
    _, result = report
    assert "'giraffe' matches no token of the prompt" in result["missing_error"]
    huge = result["huge_error"]
    assert "\x1b" not in huge and "\\x1b[31mgiraffe" in huge and len(huge) < 700


def test_a_chat_templates_own_words_are_not_the_prompts(report):
    _, result = report
    if "template_word" not in result:
        pytest.skip("no chat template")
    assert f"'{result['template_word']}' matches no token of the prompt" in result["template_error"]
