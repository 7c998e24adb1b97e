"""User text made safe to put in a message: every log handler, terminal and UI can show it as it is.

Text typed into a node (or sent in an API prompt) can hold anything JSON can: lone surrogates, which no
encoder accepts; control characters, newlines and ANSI escapes, which forge log lines or recolour a terminal;
bidi controls, which reorder what a reader sees; and any length. ``quote`` escapes every character that is
not printable and cuts the rest short, so a message that echoes input stays one readable, short line.
"""

from __future__ import annotations

__all__ = ["MAX_QUOTED", "escape", "quote"]

# Characters of user text a message shows at most; the rest is replaced by an ellipsis and the length.
MAX_QUOTED = 200


def _escaped(char: str) -> str:
    if char.isprintable() and char != "\\":
        return char
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def escape(text: str) -> str:
    """``text`` with every non-printable character (and the backslash) written as a Python escape, e.g. \\ud800.

    str.isprintable is False for control, format (bidi controls among them), surrogate, private-use and
    unassigned characters and for every separator but the space: exactly those that can break a line or a log.
    """
    return "".join(map(_escaped, text))


def quote(text: str, limit: int = MAX_QUOTED) -> str:
    """``text`` escaped and in single quotes; beyond ``limit`` characters, cut short with '…' and its length."""
    pieces, length = [], 0
    for char in text:
        piece = _escaped(char)
        length += len(piece)
        if length > limit:
            return f"'{''.join(pieces)}…' ({len(text)} characters)"
        pieces.append(piece)
    return f"'{''.join(pieces)}'"
