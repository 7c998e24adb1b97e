"""Stand-in tokenizers shaped like ComfyUI's (comfy/sd1_clip.py SDTokenizer and the multi-encoder wrappers), for
the headless tests of word → key matching. Written from ComfyUI's observable output, not its code:

- ``tokenize_with_weights(text)`` returns chunks of (id, weight) pairs; "(text:1.2)" gives text weight 1.2;
- CLIP style (SD1 "l", SDXL "g"): lower case, one start token, the words, one end token, padded to 77 with the
  end token ("l") or id 0 ("g", whose id 0 is "!"); a prompt past 75 tokens continues in another 77-chunk,
  words kept whole; pieces end a word with ``</w>`` in GPT-2's byte-to-character spelling;
- SentencePiece style (T5): case kept, ``▁`` starts a word, bytes outside the vocabulary as ``<0xNN>``, an
  end token ``</s>``, padded with ``<pad>`` to ``min_length``, no chunks;
- byte-level style (Qwen): ``Ġ`` is a space, a chat template around the prompt, optionally padded on the left.

The vocabularies are tiny: whole words from WORDS, inner pieces of a few words (so "puppy" is "pupp" + "y"),
and every single byte, so any text tokenizes.
"""

from __future__ import annotations

import re

WORDS = ["a", "photo", "of", "cat", "cats", "wearing", "red", "hat", "dog", "in", "the", "garden", "with", "and"]
WORDS += ["break", "on", "!", ",", ".", ":", "(", ")", "1", "2"]
INNER = ["pupp", "sun", "flow", "raschung", "über"]


def byte_spelling() -> dict[int, str]:
    """GPT-2's table: printable Latin-1 bytes are themselves, the rest are chr(256 + n) in byte order."""
    kept = set(range(33, 127)) | set(range(161, 173)) | set(range(174, 256))
    table, n = {}, 0
    for byte in range(256):
        if byte in kept:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + n)
            n += 1
    return table


BYTES = byte_spelling()


def spelled(text: str) -> str:
    return "".join(BYTES[b] for b in text.encode())


def weighted_segments(text: str) -> list[tuple[str, float]]:
    """'(a b:1.2) c' → [('a b', 1.2), (' c', 1.0)]; one level of parentheses is enough for the tests."""
    out, pos = [], 0
    for match in re.finditer(r"\(([^()]*?)(?::([\d.]+))?\)", text):
        if match.start() > pos:
            out.append((text[pos : match.start()], 1.0))
        out.append((match.group(1), float(match.group(2)) if match.group(2) else 1.1))
        pos = match.end()
    if pos < len(text):
        out.append((text[pos:], 1.0))
    return out


class StandInSDTokenizer:
    """One encoder's tokenizer: the attributes ComfyUI's SDTokenizer has that the matching reads."""

    def __init__(
        self,
        style: str,
        embedding_key: str,
        *,
        pad_with_zero: bool = False,
        min_length: int | None = None,
        template: str = "{}",
        pad_left: bool = False,
        max_length: int = 77,
    ):
        self.style, self.embedding_key, self.template = style, embedding_key, template
        self.min_length, self.pad_left, self.max_length = min_length, pad_left, max_length
        pieces = self._pieces()
        self.vocab = {piece: i for i, piece in enumerate(pieces)}
        self.inv_vocab = {i: piece for piece, i in self.vocab.items()}
        specials = {"clip": ("<|startoftext|>", "<|endoftext|>"), "sentencepiece": (None, "</s>")}
        start, end = specials.get(style, (None, None))
        self.start_token = self.vocab.get(start)
        self.end_token = self.vocab.get(end)
        if style == "clip":
            self.pad_token = 0 if pad_with_zero else self.end_token
        else:
            self.pad_token = self.vocab["<pad>" if style == "sentencepiece" else "<|endoftext|>"]

    def _pieces(self) -> list[str]:
        if self.style == "clip":
            singles = [BYTES[b] for b in range(256)]
            words = [spelled(w) + "</w>" for w in WORDS] + [spelled(p) for p in INNER]
            return ["!", *singles[1:], *(s + "</w>" for s in singles), *words, "<|startoftext|>", "<|endoftext|>"]
        if self.style == "sentencepiece":
            return ["<pad>", "</s>", "<unk>", "▁", *(f"<0x{b:02X}>" for b in range(256)), *self._word_pieces("▁")]
        marks = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
        return [*marks, *BYTES.values(), *self._word_pieces("Ġ", spell=True)]

    @staticmethod
    def _word_pieces(space: str, spell: bool = False) -> list[str]:
        words = WORDS + [w.capitalize() for w in WORDS] + ["BRE", "AK", "Cat", "system", "user", "assistant"]
        out = []
        for word in words:
            word = spelled(word) if spell else word
            out += [space + word, word] if not spell else [spelled(" ") + word, word]
        out += [spelled(p) if spell else p for p in INNER]
        return list(dict.fromkeys(out))

    def _greedy(self, text: str) -> list[int]:
        """Longest pieces first, left to right; CLIP's last piece of a word carries </w>."""
        ids, i = [], 0
        while i < len(text):
            for j in range(len(text), i, -1):
                piece = text[i:j] + ("</w>" if self.style == "clip" and j == len(text) else "")
                if piece in self.vocab:
                    ids.append(self.vocab[piece])
                    i = j
                    break
            else:
                if self.style != "sentencepiece":
                    raise AssertionError(f"stand-in vocabulary cannot spell {text[i]!r}")
                ids += [self.vocab[f"<0x{b:02X}>"] for b in text[i].encode()]
                i += 1
        return ids

    def _words(self, segment: str) -> list[list[int]]:
        if self.style == "clip":
            return [self._greedy(spelled(w)) for w in re.findall(r"[^\W_]+|[^\w\s]", segment.lower())]
        if self.style == "sentencepiece":
            return [self._greedy("▁" + w) for w in segment.split()]
        # byte-level: a word keeps the space before it; template marks are single tokens
        out = []
        for part in re.split(r"(<\|[a-z_]+\|>)", segment):
            if part in self.vocab:
                out.append([self.vocab[part]])
            else:
                out += [self._greedy(spelled(w)) for w in re.findall(r" ?[^\s]+|\s+", part)]
        return out

    def tokenize_with_weights(self, text: str, return_word_ids: bool = False, **kwargs) -> list[list[tuple]]:
        text = self.template.format(text)
        segments = [(text, 1.0)] if self.style == "bytelevel" else weighted_segments(text)
        words = [[(t, w) for t in ids] for seg, w in segments for ids in self._words(seg)]
        if self.style != "clip":
            flat = [pair for word in words for pair in word]
            if self.end_token is not None:
                flat.append((self.end_token, 1.0))
            missing = max(0, (self.min_length or 0) - len(flat))
            pads = [(self.pad_token, 1.0)] * missing
            return [pads + flat if self.pad_left else flat + pads]
        chunks, chunk = [], [(self.start_token, 1.0)]
        for word in words:
            if len(chunk) + len(word) > self.max_length - 1:
                chunks.append(self._closed(chunk))
                chunk = [(self.start_token, 1.0)]
            chunk += word
        chunks.append(self._closed(chunk))
        return chunks

    def _closed(self, chunk: list[tuple]) -> list[tuple]:
        chunk = [*chunk, (self.end_token, 1.0)]
        return chunk + [(self.pad_token, 1.0)] * (self.max_length - len(chunk))


class StandInTokenizer:
    """A ComfyUI tokenizer of several encoders: attributes clip_l, clip_g, t5xxl, …; one tokenize() key each."""

    def __init__(self, **encoders: tuple[str, StandInSDTokenizer]):
        self.keys = {}
        for attribute, (key, tokenizer) in encoders.items():
            setattr(self, attribute, tokenizer)
            self.keys[key] = tokenizer

    def tokenize_with_weights(self, text: str, return_word_ids: bool = False, **kwargs) -> dict:
        return {key: tok.tokenize_with_weights(text, return_word_ids) for key, tok in self.keys.items()}


class StandInCLIP:
    """comfy.sd.CLIP as the matching sees it: ``tokenize(text)`` and its ``tokenizer``."""

    def __init__(self, tokenizer: StandInTokenizer):
        self.tokenizer = tokenizer

    def tokenize(self, text: str, return_word_ids: bool = False, **kwargs) -> dict:
        return self.tokenizer.tokenize_with_weights(text, return_word_ids, **kwargs)


QWEN_TEMPLATE = "<|im_start|>system\nDescribe the photo of a garden<|im_end|>\n<|im_start|>user\n{}<|im_end|>\n"


def sd1_clip() -> StandInCLIP:
    return StandInCLIP(StandInTokenizer(clip_l=("l", StandInSDTokenizer("clip", "clip_l"))))


def sdxl_clip() -> StandInCLIP:
    return StandInCLIP(
        StandInTokenizer(
            clip_g=("g", StandInSDTokenizer("clip", "clip_g", pad_with_zero=True)),
            clip_l=("l", StandInSDTokenizer("clip", "clip_l")),
        )
    )


def sd3_clip() -> StandInCLIP:
    return StandInCLIP(
        StandInTokenizer(
            clip_l=("l", StandInSDTokenizer("clip", "clip_l")),
            clip_g=("g", StandInSDTokenizer("clip", "clip_g", pad_with_zero=True)),
            t5xxl=("t5xxl", StandInSDTokenizer("sentencepiece", "t5xxl", min_length=77)),
        )
    )


def t5_clip(min_length: int = 256) -> StandInCLIP:
    tokenizer = StandInSDTokenizer("sentencepiece", "t5xxl", min_length=min_length)
    return StandInCLIP(StandInTokenizer(t5xxl=("t5xxl", tokenizer)))


def qwen_clip(pad_left: bool = False, min_length: int | None = None) -> StandInCLIP:
    tokenizer = StandInSDTokenizer(
        "bytelevel", "qwen25_7b", template=QWEN_TEMPLATE, pad_left=pad_left, min_length=min_length
    )
    return StandInCLIP(StandInTokenizer(qwen25_7b=("qwen25_7b", tokenizer)))
