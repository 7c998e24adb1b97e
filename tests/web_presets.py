"""The web extension's preset list, read from web/pladis.js (where it is written as a JSON object literal)."""

from __future__ import annotations

import json
import re
from pathlib import Path

EXTENSION = Path(__file__).resolve().parent.parent / "web" / "pladis.js"
_LITERAL = re.compile(r"^export const PRESETS = (\{.*?^\});$", re.MULTILINE | re.DOTALL)


def load_presets(source: str | None = None) -> dict[str, dict[str, float]]:
    """The presets by name, in the extension's order; a name given twice is an error (JavaScript keeps the last)."""
    match = _LITERAL.search(EXTENSION.read_text() if source is None else source)
    if match is None:
        raise ValueError("no `export const PRESETS = {...};` JSON literal in the extension")

    def unique(pairs: list[tuple[str, object]]) -> dict:
        names = [name for name, _ in pairs]
        if len(set(names)) != len(names):
            raise ValueError(f"a preset name is given twice: {sorted(n for n in names if names.count(n) > 1)}")
        return dict(pairs)

    return json.loads(match.group(1), object_pairs_hook=unique)
