"""Each encoder's tokens decoded with the tokenizer's own vocabulary: CLIP's ``</w>`` pieces, SentencePiece's
``▁`` and ``<0xNN>`` bytes, byte-level BPE's ``Ġ``; special tokens (start, end, pad, template marks) marked."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

SENTENCEPIECE_BYTE = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")
SPECIAL_PIECE = re.compile(r"^(<\|[^|]*\|>|<[/a-z_]+>|\[/?[A-Z_]+\])$")


@dataclass(frozen=True)
class PromptTokens:
    """One encoder's tokens, concatenated over chunks: each token's id (None for an embedding or other
    non-id entry), whether it is special (start, end, pad, template marks, embeddings) and its decoded text:
    '' for a special token, and for a token whose bytes end inside a character (the character is then the
    next token's and is owned by both)."""

    ids: tuple[int | None, ...]
    special: tuple[bool, ...]
    texts: tuple[str, ...]


def _byte_decoder() -> dict[str, int]:
    """The inverse of GPT-2's byte → character table, which CLIP, Qwen and Llama 3 vocabularies use: the
    printable Latin-1 bytes stand for themselves, the others (space, controls, …) for 256 + their rank."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            table[chr(byte)] = byte
        else:
            table[chr(256 + extra)] = byte
            extra += 1
    return table


BYTE_DECODER = _byte_decoder()


def piece_style(pieces: Iterable[str]) -> str:
    """ "clip", "sentencepiece" or "bytelevel": which spelling a vocabulary uses, by its pieces' markers."""
    counts = {"clip": 0, "sentencepiece": 0, "bytelevel": 0}
    for piece in pieces:
        if piece.endswith("</w>"):
            counts["clip"] += 1
        elif piece.startswith("▁"):
            counts["sentencepiece"] += 1
        elif piece.startswith("Ġ"):
            counts["bytelevel"] += 1
    return max(counts, key=counts.get)


def _piece_bytes(piece: str, style: str) -> bytes:
    if style == "sentencepiece":
        byte = SENTENCEPIECE_BYTE.match(piece)
        return bytes([int(byte.group(1), 16)]) if byte else piece.replace("▁", " ").encode()
    if style == "clip" and piece.endswith("</w>"):
        return bytes(BYTE_DECODER.get(c, 63) for c in piece[:-4]) + b" "
    if all(c in BYTE_DECODER for c in piece):
        return bytes(BYTE_DECODER[c] for c in piece)
    return piece.encode()


def token_vocabulary(tokenizer: Any) -> dict[int, str]:
    inv_vocab = getattr(tokenizer, "inv_vocab", None)
    if inv_vocab is None:
        raise TypeError(f"{type(tokenizer).__name__} has no inv_vocab: not a ComfyUI SDTokenizer")
    return inv_vocab


def special_ids(tokenizer: Any) -> set[int]:
    return {t for t in (getattr(tokenizer, name, None) for name in ("start_token", "end_token")) if t is not None}


# id(vocabulary) → (vocabulary, style): a vocabulary of 50k–150k pieces is read once (the entry keeps it alive,
# so its id stays its own).
_STYLES: dict[int, tuple[dict[int, str], str]] = {}


def _style(vocabulary: dict[int, str]) -> str:
    cached = _STYLES.get(id(vocabulary))
    if cached is None or cached[0] is not vocabulary:
        cached = _STYLES[id(vocabulary)] = (vocabulary, piece_style(vocabulary.values()))
    return cached[1]


def token_id(entry: Sequence[Any]) -> int | None:
    token = entry[0]
    return token if isinstance(token, int) and not isinstance(token, bool) else None


def padding_positions(chunk_ids: Sequence[int | None], pad: int | None, pad_left: bool) -> set[int]:
    """The pad run at the end of a chunk (at its start for left-padding tokenizers)."""
    if pad is None:
        return set()
    order = range(len(chunk_ids)) if pad_left else range(len(chunk_ids) - 1, -1, -1)
    padding = set()
    for i in order:
        if chunk_ids[i] != pad:
            break
        padding.add(i)
    return padding


def decode_tokens(chunks: Sequence[Sequence[Sequence[Any]]], tokenizer: Any) -> PromptTokens:
    """Decodes one encoder's tokenize() output (chunks of (id, weight[, word id])) with ``tokenizer``, the
    ComfyUI SDTokenizer that made it (its ``inv_vocab``, start, end and pad tokens)."""
    vocabulary = token_vocabulary(tokenizer)
    style = _style(vocabulary)
    specials = special_ids(tokenizer)
    pad = getattr(tokenizer, "pad_token", None)
    ids, special, texts = [], [], []
    for chunk in chunks:
        chunk_ids = [token_id(entry) for entry in chunk]
        padding = padding_positions(chunk_ids, pad, bool(getattr(tokenizer, "pad_left", False)))
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        for i, token in enumerate(chunk_ids):
            piece = None if token is None or token in specials or i in padding else vocabulary.get(token)
            is_special = piece is None or bool(SPECIAL_PIECE.match(piece))
            if is_special:
                decoder.reset()
            ids.append(token)
            special.append(is_special)
            texts.append("" if is_special else decoder.decode(_piece_bytes(piece, style)))
    return PromptTokens(tuple(ids), tuple(special), tuple(texts))
