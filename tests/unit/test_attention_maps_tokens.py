"""Word → text key matching (nodes/attention_maps/tokens.py) with stand-in tokenizers shaped like ComfyUI's."""

import importlib

import attention_map_tokenizers as standins
import pytest
import torch
from pack import import_pack

pack = import_pack()
tokens = importlib.import_module(f"{pack.__name__}.nodes.attention_maps.tokens")
token_decoding = importlib.import_module(f"{pack.__name__}.nodes.attention_maps.token_decoding")
TextKeyLayout = tokens.TextKeyLayout


def keys(clip, prompt, words, *layouts):
    return {w.word: w.keys for w in tokens.word_keys_for_prompt(clip, prompt, words, layouts or (TextKeyLayout(),))}


def pieces_at(clip, prompt, encoder, positions):
    """The vocabulary pieces of the tokens at ``positions`` of the concatenated chunks."""
    flat = [entry[0] for chunk in clip.tokenize(prompt)[encoder] for entry in chunk]
    vocabulary = tokens.encoder_tokenizer(clip.tokenizer, encoder).inv_vocab
    return [vocabulary[flat[p]] for p in positions]


def test_a_word_gets_the_key_of_its_token():
    # start token at 0: a=1 photo=2 of=3 a=4 cat=5
    assert keys(standins.sd1_clip(), "a photo of a cat", "cat, photo") == {"cat": (5,), "photo": (2,)}


def test_the_same_word_twice_gets_both_occurrences():
    clip = standins.sd1_clip()
    found = keys(clip, "a cat and a cat", "cat")["cat"]
    assert found == (2, 5)
    assert pieces_at(clip, "a cat and a cat", "l", found) == ["cat</w>", "cat</w>"]


def test_a_word_split_in_sub_word_pieces_gets_all_of_them():
    clip = standins.sd1_clip()
    found = keys(clip, "a puppy in the garden", "puppy")["puppy"]
    assert pieces_at(clip, "a puppy in the garden", "l", found) == ["pupp", "y</w>"]


def test_matching_ignores_case_and_wants_whole_words():
    clip = standins.t5_clip()  # T5 keeps case: "Cat" and "cat" are different pieces
    found = keys(clip, "a Cat and a cat and cats", "CAT")["CAT"]
    assert pieces_at(clip, "a Cat and a cat and cats", "t5xxl", found) == ["▁Cat", "▁cat"]


def test_weights_syntax_in_the_prompt_and_in_the_word_list():
    clip = standins.sd1_clip()
    prompt = "a photo of a (red hat:1.2) on a dog"
    found = keys(clip, prompt, "(red hat:1.3), dog")
    assert pieces_at(clip, prompt, "l", found["red hat"]) == ["red</w>", "hat</w>"]
    assert pieces_at(clip, prompt, "l", found["dog"]) == ["dog</w>"]


def test_a_3x77_prompt_keys_are_the_concatenated_chunks():
    clip = standins.sd1_clip()
    prompt = " ".join(["dog"] * 80 + ["cat"] + ["dog"] * 80 + ["red hat"])
    chunks = clip.tokenize(prompt)["l"]
    assert len(chunks) == 3 and all(len(c) == 77 for c in chunks)
    found = keys(clip, prompt, "cat, red hat, dog")
    # chunk 1 = start, 75 dogs, end; chunk 2 = start, 5 dogs, cat, …: cat is key 77 + 6
    assert found["cat"] == (83,)
    assert pieces_at(clip, prompt, "l", found["red hat"]) == ["red</w>", "hat</w>"]
    assert min(found["red hat"]) > 154
    assert len(found["dog"]) == 160
    assert not {0, 76, 77, 153, 154} & set(found["dog"])  # start and end tokens of each chunk are no words


def test_break_is_a_word_and_the_words_after_it_keep_their_keys():
    clip = standins.sd1_clip()
    found = keys(clip, "a cat BREAK a dog", "dog, break")
    assert found == {"dog": (5,), "break": (3,)}


def test_pad_tokens_never_match_even_when_their_id_is_a_word():
    clip = standins.sdxl_clip()  # "g" pads with id 0, which is "!"
    prompt = "a cat !"
    chunk = clip.tokenize(prompt)["g"][0]
    assert [t for t, _ in chunk].count(0) > 60
    g_keys = keys(clip, prompt, "!", TextKeyLayout("g"))["!"]
    assert g_keys == (3,)
    assert keys(clip, prompt, "!", TextKeyLayout("l"))["!"] == g_keys  # SDXL's two encoders share positions


def test_sdxl_defaults_to_the_l_tokens():
    assert keys(standins.sdxl_clip(), "a red dog", "dog") == {"dog": (3,)}


def test_t5_pads_and_end_token_are_no_words():
    clip = standins.t5_clip(min_length=256)
    chunks = clip.tokenize("a dog")["t5xxl"]
    assert len(chunks[0]) == 256
    assert keys(clip, "a dog", "dog") == {"dog": (1,)}


def test_a_chat_templates_words_are_not_the_prompts():
    clip = standins.qwen_clip()
    with pytest.raises(ValueError, match="'garden' matches no token"):
        keys(clip, "a cat", "garden")  # only in the template's system prompt
    found = keys(clip, "a photo of a cat", "photo, cat")
    prompt_tokens = clip.tokenize("a photo of a cat")["qwen25_7b"][0]
    assert len(found["photo"]) == 1 and found["photo"][0] > 10  # the prompt's photo, not the template's
    vocabulary = clip.tokenizer.qwen25_7b.inv_vocab
    assert vocabulary[prompt_tokens[found["cat"][0]][0]] == "Ġcat"


def test_left_padding_moves_the_keys_with_the_tokens():
    plain, padded = keys(standins.qwen_clip(), "a cat", "cat"), keys(standins.qwen_clip(True, 80), "a cat", "cat")
    n_tokens = len(standins.qwen_clip().tokenize("a cat")["qwen25_7b"][0])
    assert padded["cat"][0] - plain["cat"][0] == 80 - n_tokens


def test_sd3_words_get_their_clip_and_t5_keys():
    clip = standins.sd3_clip()
    layouts = (TextKeyLayout("l"), TextKeyLayout("t5xxl", key_offset=77))
    found = keys(clip, "a red dog", "dog", *layouts)["dog"]
    assert found == (3, 77 + 2)


def test_a_layout_drops_a_prefix_and_cuts_off_at_n_keys():
    clip = standins.t5_clip()
    assert keys(clip, "a red dog", "dog", TextKeyLayout(first_token=1, key_offset=4)) == {"dog": (5,)}
    with pytest.raises(ValueError, match="'dog' falls on tokens the model cuts off"):
        keys(clip, "a red dog", "dog", TextKeyLayout(n_keys=2))


def test_multi_byte_characters_split_across_tokens_belong_to_every_piece():
    clip = standins.qwen_clip()
    prompt = "a Überraschung"
    found = keys(clip, prompt, "überraschung")["überraschung"]
    flat = clip.tokenize(prompt)["qwen25_7b"][0]
    pieces = [clip.tokenizer.qwen25_7b.inv_vocab[flat[p][0]] for p in found]
    assert "".join(pieces) == standins.spelled("Überraschung")
    assert pieces[:2] == list(standins.spelled("Ü"))  # Ü's two bytes, one token each


def test_embeddings_in_the_tokens_are_no_words_but_keep_their_positions():
    tokenizer = standins.StandInSDTokenizer("clip", "clip_l")
    chunks = tokenizer.tokenize_with_weights("a cat")
    chunks[0].insert(1, (torch.zeros(768), 1.0))
    chunks[0].pop()
    decoded = tokens.decode_tokens(chunks, tokenizer)
    assert decoded.special[1] and decoded.ids[1] is None
    (found,) = tokens.match_words(["cat"], decoded)
    assert found.keys == (3,)


def test_a_word_that_matches_nothing_names_the_prompts_tokens():
    with pytest.raises(ValueError) as error:
        keys(standins.sd1_clip(), "a photo of a cat", "dog")
    message = str(error.value)
    assert "'dog' matches no token of the prompt" in message
    assert "a photo of a cat" in message and "<|" not in message


def test_error_messages_are_escaped_and_capped():
    with pytest.raises(ValueError) as error:
        keys(standins.sd1_clip(), "a cat " + "dog " * 25_000, "\x1b[31mred\u202e")
    message = str(error.value)
    assert "\x1b" not in message and "\u202e" not in message and "\\x1b" in message
    assert len(message) < 700


def test_empty_word_lists_are_refused():
    for words in ("", " , ,\n", []):
        with pytest.raises(ValueError, match="no words to show"):
            keys(standins.sd1_clip(), "a cat", words)
    with pytest.raises(ValueError, match="no words to show"):
        tokens.match_words([], tokens.PromptTokens((), (), ()))


def test_too_many_words_are_refused_with_a_capped_message():
    text = ", ".join(f"w{i}" for i in range(20_000))
    assert len(text) > 100_000
    with pytest.raises(ValueError) as error:
        tokens.parse_words(text)
    assert f"{20_000} words given, at most {tokens.MAX_WORDS}" in str(error.value)
    assert len(str(error.value)) < 400


def test_parse_words_splits_on_commas_and_newlines_and_strips_weights():
    assert tokens.parse_words("cat, (red hat:1.2)\n (dog) , \\(x\\)") == ["cat", "red hat", "dog", "(x)"]


def test_piece_styles_are_read_off_the_vocabularies():
    styles = {
        name: token_decoding.piece_style(tok.inv_vocab.values())
        for name, tok in (
            ("clip", standins.StandInSDTokenizer("clip", "clip_l")),
            ("sentencepiece", standins.StandInSDTokenizer("sentencepiece", "t5xxl")),
            ("bytelevel", standins.StandInSDTokenizer("bytelevel", "qwen25_7b")),
        )
    }
    assert styles == {"clip": "clip", "sentencepiece": "sentencepiece", "bytelevel": "bytelevel"}


def test_an_unknown_encoder_is_a_clear_error():
    with pytest.raises(TypeError, match="no tokenizer for the encoder 'umt5'"):
        tokens.encoder_tokenizer(standins.sd1_clip().tokenizer, "umt5")
    with pytest.raises(ValueError, match="several encoders"):
        tokens.default_encoder({"t5xxl": [], "g": []})


def test_a_token_index_picks_that_token_whatever_it_is():
    clip = standins.sd1_clip()
    assert keys(clip, "a red dog", "#0, #3, dog") == {"#0": (0,), "#3": (3,), "dog": (3,)}
    assert keys(standins.t5_clip(), "a red dog", "#2", TextKeyLayout(first_token=1, key_offset=4)) == {"#2": (5,)}
    with pytest.raises(ValueError, match="'#77' is past the prompt's 77 tokens"):
        keys(clip, "a red dog", "#77")
    with pytest.raises(ValueError, match="'#5' falls on tokens the model cuts off"):
        keys(clip, "a red dog", "#5", TextKeyLayout(n_keys=5))
