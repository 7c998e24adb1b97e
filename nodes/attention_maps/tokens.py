"""Prompt words → the text keys that carry them, with ComfyUI's own tokenizers.

``clip.tokenize(text)`` gives, per encoder ("l", "g", "t5xxl", "qwen25_7b", …), a list of chunks of
(token id, weight[, word id]) tuples. The conditioning's text keys are those chunks concatenated in order,
start, end and pad tokens included (SD/SDXL: 77 keys per chunk, so a 3 × 77 prompt gives 231 keys). A word
is found in the text the tokens decode to, and every token its characters fall in is one of its keys:

- the tokens are decoded piece by piece with the tokenizer's own vocabulary (``inv_vocab``, which ComfyUI
  builds from the vocabulary files it ships), so nothing is downloaded; three piece spellings are read:
  CLIP's byte-level BPE (a word ends in ``</w>``), SentencePiece (T5, Gemma, Llama 2: ``▁`` starts a word,
  ``<0xNN>`` bytes) and GPT-2 byte-level BPE (Qwen, Llama 3: ``Ġ`` is a space);
- matching ignores case and whitespace and wants word boundaries at both ends (``cat`` does not match
  ``cats``, ``red hat`` matches ``red`` + ``hat``, ``puppy`` matches ``pupp`` + ``y``); every occurrence
  counts (the same word twice gives the keys of both);
- start, end and pad tokens, and embeddings (tensors in place of ids), never match a word; "#N" in the word
  list picks the token at position N of the concatenated chunks, whatever it is (e.g. "#0", CLIP's start
  token, where SD's attention piles up);
- weights syntax is ComfyUI's tokenizer's business: ``(red hat:1.2)`` in the prompt gives the tokens of
  ``red hat``; the same syntax in the word list is stripped too;
- BREAK: ComfyUI's own text encoders have no BREAK (that is A1111 syntax, and ComfyUI's Conditioning
  Concat does what it does): the word is tokenized as any other word ("break" for CLIP), and the words
  around it keep the keys their tokens have;
- a chat template around the prompt (Qwen-Image, Z-Image, Flux.2, LTX-2's Gemma, …) has words of its own:
  only the tokens that differ from those of an empty prompt are searched (``prompt_window``).

Where the text keys are not the prompt's tokens one to one, a family gives a ``TextKeyLayout``; what each
needs (to be written in the family records, which know the model):

- SD1.5/SDXL (and the other CLIP UNets): none, SDXL's "l" and "g" tokens share positions;
- SD3: keys are [CLIP-L/G tokens (77 per chunk) | T5 tokens]: a word gets both, the T5 layout with
  ``key_offset`` = the CLIP token count;
- Flux.1: T5 only, padded to at least 256 by the tokenizer (those pads are keys): none;
- Flux.2: the Mistral/Qwen3 tokenizer pads on the left (to 512) inside the tokenization, so the token
  positions are already the key positions; the system template is excluded by ``prompt_window``;
- Qwen-Image: the encoder drops the template's first tokens (up to the second ``<|im_start|>`` and
  "user\\n"): ``first_token`` = that count;
- Z-Image: pads its caption to a multiple of 32 after the tokens (keys past the prompt are pads): none, but
  ``n_keys`` where the family truncates; registers or image tokens placed before the text: ``key_offset``;
- LTX-2: the Gemma tokens pass a connector whose output keys are the tokens' positions with learned
  registers in place of the padding: the real tokens keep their positions (none), registers are not words;
- object-patched families (PixArt, HunyuanDiT, ERNIE-Image) and cross-attention DiTs (Wan, …): the T5/mT5 or
  LLM tokens one to one, truncated by the model's maximum length (``n_keys``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..safe_text import quote
from .token_decoding import PromptTokens, decode_tokens, padding_positions

__all__ = [
    "MAX_WORDS",
    "PromptTokens",
    "TextKeyLayout",
    "WordKeys",
    "decode_tokens",
    "match_words",
    "parse_words",
    "prompt_window",
    "word_keys_for_prompt",
]

# Rows of the grid at most: beyond this a grid is no longer read at a glance.
MAX_WORDS = 16
# Tokens a "matches nothing" error lists at most (the message is capped by safe_text anyway).
LISTED_TOKENS = 120

WEIGHT_SYNTAX = re.compile(r"^\((?P<text>.*?)(?::\s*[-+]?(?:\d+\.?\d*|\.\d+))?\)$", re.DOTALL)
TOKEN_INDEX = re.compile(r"^#(\d{1,9})$")


@dataclass(frozen=True)
class TextKeyLayout:
    """Where an encoder's tokens sit among an attention call's text keys.

    Token ``position`` (in the concatenated chunks) is key ``position − first_token + key_offset``;
    tokens before ``first_token`` (a prefix the encoder drops) and keys at or past ``n_keys`` (what the model
    truncates) are no keys. ``encoder`` is the tokenize() key; None: the only one, or "l" for SDXL's
    "g"/"l" pair (the two share positions).
    """

    encoder: str | None = None
    first_token: int = 0
    key_offset: int = 0
    n_keys: int | None = None

    def key(self, position: int) -> int | None:
        if position < self.first_token:
            return None
        key = position - self.first_token + self.key_offset
        return None if self.n_keys is not None and key >= self.n_keys else key


@dataclass(frozen=True)
class WordKeys:
    """A chosen word, its text keys and the token positions they came from (one tuple per layout searched)."""

    word: str
    keys: tuple[int, ...]
    positions: tuple[tuple[int, ...], ...]


def parse_words(text: str, max_words: int = MAX_WORDS) -> list[str]:
    """ "cat, red hat" → ["cat", "red hat"]: comma- or newline-separated, weights syntax stripped."""
    words = []
    for raw in re.split(r"[,\n]", text):
        word = raw.strip()
        match = WEIGHT_SYNTAX.match(word)
        if match:
            word = match.group("text").strip()
        word = word.replace("\\(", "(").replace("\\)", ")")
        if word:
            words.append(word)
    if not words:
        raise ValueError(f"no words to show: give words of the prompt separated by commas, got {quote(text)}")
    if len(words) > max_words:
        raise ValueError(f"{len(words)} words given, at most {max_words} fit a grid: {quote(text)}")
    return words


def _compact(tokens: PromptTokens, window: range) -> tuple[str, list[list[int]], list[bool]]:
    """The window's text case-folded without whitespace, each character's token positions, and whether a
    word boundary (whitespace or a special token) precedes each character."""
    chars, owners, boundary = [], [], []
    gap, pending = True, []
    for position in window:
        if tokens.special[position]:
            gap, pending = True, []
            continue
        pending.append(position)
        for char in tokens.texts[position]:
            if char.isspace():
                gap, pending = True, [position]
                continue
            for folded in char.casefold():
                chars.append(folded)
                owners.append(pending)
                boundary.append(gap)
                gap = False
            pending = [position]
        if tokens.texts[position]:
            pending = []
    return "".join(chars), owners, boundary


def _joins(text: str, boundary: list[bool], at: int) -> bool:
    """Whether position ``at`` of the compact text is inside a word (so a match cannot start or end there)."""
    if at <= 0 or at >= len(text) or boundary[at]:
        return False
    return text[at - 1].isalnum() and text[at].isalnum()


def _occurrences(word: str, text: str, boundary: list[bool]) -> list[tuple[int, int]]:
    found, start = [], text.find(word)
    while start >= 0:
        end = start + len(word)
        if not _joins(text, boundary, start) and not _joins(text, boundary, end):
            found.append((start, end))
        start = text.find(word, start + 1)
    return found


def match_words(
    words: Sequence[str],
    tokens: PromptTokens,
    layout: TextKeyLayout = TextKeyLayout(),
    window: range | None = None,
) -> list[WordKeys]:
    """Each word's token positions (every occurrence in ``window``, all the prompt by default) and keys.
    A word "#N" is the token at position N itself, whatever it is (a start token, a pad, a template's).

    Raises ValueError naming the prompt's tokens (escaped, capped) for a word that matches no token or
    whose tokens are no keys (cut off by the layout), and for an empty word list."""
    if not words:
        raise ValueError("no words to show: the word list is empty")
    window = range(len(tokens.ids)) if window is None else window
    text, owners, boundary = _compact(tokens, window)
    result = []
    for word in words:
        index = TOKEN_INDEX.match(word)
        if index:
            position = int(index.group(1))
            if position >= len(tokens.ids):
                raise ValueError(f"token {quote(word)} is past the prompt's {len(tokens.ids)} tokens")
            positions = [position]
        else:
            target = "".join(c.casefold() for c in word if not c.isspace())
            found = _occurrences(target, text, boundary)
            positions = sorted({p for start, end in found for i in range(start, end) for p in owners[i]})
        keys = [key for key in map(layout.key, positions) if key is not None]
        if not keys:
            listed = [text.strip() for text in tokens.texts[window.start : window.stop] if text.strip()]
            shown = " ".join(listed[:LISTED_TOKENS]) + (" …" if len(listed) > LISTED_TOKENS else "")
            reason = "matches no token of the prompt" if not positions else "falls on tokens the model cuts off"
            raise ValueError(f"word {quote(word)} {reason}; the prompt's tokens are: {quote(shown)}")
        result.append(WordKeys(word, tuple(sorted(set(keys))), (tuple(positions),)))
    return result


def _unpadded(chunks: Sequence[Sequence[Sequence[Any]]], tokenizer: Any) -> list[tuple[int, Any]]:
    """(position, id) of every token but the padding runs: a template's tokens do not move with the pads."""
    pad, pad_left = getattr(tokenizer, "pad_token", None), bool(getattr(tokenizer, "pad_left", False))
    out, offset = [], 0
    for chunk in chunks:
        ids = [entry[0] for entry in chunk]
        padding = padding_positions(ids, pad, pad_left)
        out.extend((offset + i, ids[i]) for i in range(len(ids)) if i not in padding)
        offset += len(ids)
    return out


def prompt_window(prompt: Sequence, empty: Sequence, tokenizer: Any) -> range:
    """The token positions of ``prompt``'s tokens (one encoder's chunks) that are not those of ``empty`` (the
    same encoder's chunks for an empty prompt): the prompt without a chat template's prefix and suffix."""
    ours, theirs = _unpadded(prompt, tokenizer), _unpadded(empty, tokenizer)
    shortest = min(len(ours), len(theirs))

    def same(a, b) -> bool:
        return isinstance(a[1], int) and a[1] == b[1]

    head = 0
    while head < shortest and same(ours[head], theirs[head]):
        head += 1
    tail = 0
    while tail < shortest - head and same(ours[-1 - tail], theirs[-1 - tail]):
        tail += 1
    if head >= len(ours) - tail:
        return range(0)
    return range(ours[head][0], ours[len(ours) - tail - 1][0] + 1)


def encoder_tokenizer(clip_tokenizer: Any, encoder: str) -> Any:
    """The SDTokenizer behind one key of a ComfyUI tokenizer's tokenize() output ("l" → its ``clip_l``)."""
    for name in (encoder, f"clip_{encoder}"):
        candidate = getattr(clip_tokenizer, name, None)
        if candidate is not None and hasattr(candidate, "inv_vocab"):
            return candidate
    for candidate in vars(clip_tokenizer).values():
        key = getattr(candidate, "embedding_key", None)
        if hasattr(candidate, "inv_vocab") and key in (encoder, f"clip_{encoder}"):
            return candidate
    raise TypeError(f"no tokenizer for the encoder {quote(encoder)} in {type(clip_tokenizer).__name__}")


def default_encoder(tokenized: dict) -> str:
    """The tokenize() key whose tokens are the text keys when a family says nothing: the only one, or "l"."""
    if len(tokenized) == 1:
        return next(iter(tokenized))
    if "l" in tokenized:
        return "l"
    raise ValueError(f"the tokenizer gives several encoders ({', '.join(map(quote, tokenized))}): name one")


def word_keys_for_prompt(
    clip: Any, prompt: str, words: str | Sequence[str], layouts: Sequence[TextKeyLayout] = (TextKeyLayout(),)
) -> list[WordKeys]:
    """The keys of each chosen word (free text "cat, red hat" or a list) in ``prompt`` as ``clip`` tokenizes
    it; with several layouts (SD3: CLIP and T5 keys), a word gets the keys it matches in any of them."""
    chosen = parse_words(words) if isinstance(words, str) else list(words)
    if not chosen:
        raise ValueError("no words to show: the word list is empty")
    tokenized, empty = clip.tokenize(prompt), clip.tokenize("")
    positions: dict[str, list[tuple[int, ...]]] = {word: [] for word in chosen}
    keys: dict[str, set[int]] = {word: set() for word in chosen}
    errors: dict[str, ValueError] = {}
    for layout in layouts:
        encoder = layout.encoder or default_encoder(tokenized)
        tokenizer = encoder_tokenizer(clip.tokenizer, encoder)
        tokens = decode_tokens(tokenized[encoder], tokenizer)
        window = prompt_window(tokenized[encoder], empty[encoder], tokenizer)
        for word in chosen:
            try:
                (found,) = match_words([word], tokens, layout, window)
            except ValueError as error:
                errors.setdefault(word, error)
                positions[word].append(())
                continue
            positions[word].extend(found.positions)
            keys[word].update(found.keys)
    for word in chosen:
        if not keys[word]:
            raise errors[word]
    return [WordKeys(word, tuple(sorted(keys[word])), tuple(positions[word])) for word in chosen]
