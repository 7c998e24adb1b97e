"""Runs inside a real ComfyUI (its interpreter, its root as working directory) and prints one JSON line.

    python attention_map_tokens_runner.py PACK_DIR

Word → key matching (nodes/attention_maps/tokens.py) with ComfyUI's own tokenizers, loaded from the
vocabulary files ComfyUI ships (no download: HF_HUB_OFFLINE is set). For each tokenizer the report gives what
the matched keys decode to by the tokenizer's own ``decode`` (not the pack's piece decoding), so the test side
can check them. A tokenizer this ComfyUI does not have is reported absent.
"""

from __future__ import annotations

import importlib
import json
import os
import sys

PACK_DIR = sys.argv[1]
sys.argv = [sys.argv[0], "--cpu"]
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
sys.path.insert(0, os.getcwd())
sys.path.insert(1, os.path.join(PACK_DIR, "tests"))

import comfy.options  # noqa: E402

comfy.options.enable_args_parsing()

from pack import import_pack  # noqa: E402

pack = import_pack()
tokens = importlib.import_module(f"{pack.__name__}.nodes.attention_maps.tokens")
token_decoding = importlib.import_module(f"{pack.__name__}.nodes.attention_maps.token_decoding")

# (report name, module, class, encoder key, whether the tokenizer wraps the prompt in a chat template)
TOKENIZERS = [
    ("sd1_clip_l", "comfy.sd1_clip", "SD1Tokenizer", "l", False),
    ("sdxl_clip_g", "comfy.sdxl_clip", "SDXLTokenizer", "g", False),
    ("sdxl_clip_l", "comfy.sdxl_clip", "SDXLTokenizer", "l", False),
    ("sd3_t5xxl", "comfy.text_encoders.sd3_clip", "SD3Tokenizer", "t5xxl", False),
    ("flux_t5xxl", "comfy.text_encoders.flux", "FluxTokenizer", "t5xxl", False),
    ("qwen_image_qwen25", "comfy.text_encoders.qwen_image", "QwenImageTokenizer", "qwen25_7b", True),
    ("hunyuan_video_llama3", "comfy.text_encoders.hunyuan_video", "HunyuanVideoTokenizer", "llama", True),
    ("z_image_qwen3", "comfy.text_encoders.z_image", "ZImageTokenizer", "qwen3_4b", True),
]
PROMPT = "a photo of a Cat wearing a (red hat:1.2), Überraschung BREAK a cat"
WORDS = "cat, red hat, überraschung, break"


class Clip:
    """comfy.sd.CLIP's tokenize() without a text model."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def tokenize(self, text, return_word_ids=False, **kwargs):
        return self.tokenizer.tokenize_with_weights(text, return_word_ids, **kwargs)


def error_of(fn) -> str | None:
    try:
        fn()
    except ValueError as error:
        return str(error)
    return None


def decoded(sd_tokenizer, ids: list[int]) -> str:
    return sd_tokenizer.tokenizer.decode(ids)


def report_for(name, module, cls, encoder, templated):
    try:
        tokenizer = getattr(importlib.import_module(module), cls)(embedding_directory=None, tokenizer_data={})
    except (ImportError, AttributeError):
        return {"absent": True, "why": "not in this ComfyUI"}
    except OSError as error:  # a vocabulary file this build does not have (ComfyUI ships most, not all)
        return {"absent": True, "why": f"{type(error).__name__}: {error}"}
    clip = Clip(tokenizer)
    layout = (tokens.TextKeyLayout(encoder),)
    sd_tokenizer = tokens.encoder_tokenizer(tokenizer, encoder)
    if len(sd_tokenizer.inv_vocab) < 1000:  # this build lacks the vocabulary file (tokenizer.json)
        return {"absent": True, "why": f"a vocabulary of {len(sd_tokenizer.inv_vocab)} pieces: its file is missing"}
    flat = [entry[0] for chunk in clip.tokenize(PROMPT)[encoder] for entry in chunk]
    found = {w.word: w for w in tokens.word_keys_for_prompt(clip, PROMPT, WORDS, layout)}
    per_word = {
        word: {"keys": list(w.keys), "texts": [decoded(sd_tokenizer, [flat[k]]) for k in w.keys]}
        for word, w in found.items()
    }
    long_prompt = " ".join(["dog"] * 160 + ["red hat"])
    long_tokens = clip.tokenize(long_prompt)[encoder]
    long_flat = [entry[0] for chunk in long_tokens for entry in chunk]
    (red_hat,) = tokens.word_keys_for_prompt(clip, long_prompt, "red hat", layout)
    huge = "a cat " + "dog " * 25_000
    report = {
        "absent": False,
        "style": token_decoding.piece_style(sd_tokenizer.inv_vocab.values()),
        "words": per_word,
        "long_chunks": [len(chunk) for chunk in long_tokens],
        "long_red_hat_keys": list(red_hat.keys),
        "long_red_hat_text": decoded(sd_tokenizer, [long_flat[k] for k in red_hat.keys]),
        "missing_error": error_of(lambda: tokens.word_keys_for_prompt(clip, PROMPT, "giraffe", layout)),
        "huge_error": error_of(lambda: tokens.word_keys_for_prompt(clip, huge, "\x1b[31mgiraffe", layout)),
    }
    if templated:
        # A word of the chat template's own text, not of the prompt.
        template = next(t for t in vars(tokenizer).values() if isinstance(t, str) and "{}" in t)
        word = next(w for w in ("describe", "user", "image", "assistant") if w in template.lower())
        report["template_word"] = word
        report["template_error"] = error_of(lambda: tokens.word_keys_for_prompt(clip, "a cat", word, layout))
    return report


def main() -> None:
    import comfy.sd1_clip  # noqa: F401  (ComfyUI's tokenizers need its model management set up)

    reports = {name: report_for(name, *rest) for name, *rest in TOKENIZERS}
    print(json.dumps(reports))


if __name__ == "__main__":
    main()
