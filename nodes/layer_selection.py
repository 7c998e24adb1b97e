"""Which attention sites of a model PLADIS patches: the presets and the custom layer list.

A site is (part, block, index): for UNets ("input" | "middle" | "output", ComfyUI's block number, the
transformer index inside that block's SpatialTransformer) — the key of ComfyUI's attn2 replacements; for
DiTs ("double" | "single" | "block", block number, None).

Custom list grammar: entries separated by commas; an entry is a part name, optionally followed by block
numbers and, after a dot, transformer indices; numbers are single values or inclusive ranges a-b.
    "input, output"      every input and output block (the paper's default)
    "input 7-8, middle"  input blocks 7 and 8, and the middle block
    "output 0.0-4"       transformer indices 0 to 4 of output block 0
    "input.0"            transformer index 0 of every input block
    "double 0-9"         the first ten double blocks of a Flux-like DiT ("block 0-9" for Wan)
    "video, audio"       both text cross-attentions of every LTX-2 block
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from .safe_text import quote

__all__ = ["LAYER_PRESETS", "LayerRule", "Site", "describe_sites", "parse_layer_list", "select_sites"]

LAYER_PRESETS = ("default", "all", "custom")

PART_ALIASES = {
    "input": "input",
    "in": "input",
    "middle": "middle",
    "mid": "middle",
    "output": "output",
    "out": "output",
    "double": "double",
    "single": "single",
    "block": "block",
    "video": "video",
    "audio": "audio",
}

# Block numbers and transformer indices above this are beyond any model (the largest have ~60 blocks); a
# longer number is refused before int() sees it, so that no entry reaches Python's integer-digits limit.
MAX_NUMBER = 9999

_ENTRY = re.compile(r"^(?P<part>[a-z]+)(?P<blocks>\d+(?:-\d+)?)?(?:\.(?P<indices>\d+(?:-\d+)?))?$")


class Site(NamedTuple):
    part: str
    block: int
    index: int | None


class LayerRule(NamedTuple):
    part: str
    blocks: range | None
    indices: range | None
    text: str

    def matches(self, site: Site) -> bool:
        return (
            site.part == self.part
            and (self.blocks is None or site.block in self.blocks)
            and (self.indices is None or (site.index is not None and site.index in self.indices))
        )


def _number_range(text: str | None, entry: str) -> range | None:
    if text is None:
        return None
    first, _, last = text.partition("-")
    lo, hi = _number(first, entry), _number(last or first, entry)
    if hi < lo:
        raise ValueError(f"layer list entry {quote(entry)}: range {quote(text)} is backwards")
    return range(lo, hi + 1)


def _number(digits: str, entry: str) -> int:
    if len(digits) > len(str(MAX_NUMBER)) or int(digits) > MAX_NUMBER:
        raise ValueError(
            f"layer list entry {quote(entry)}: the number {quote(digits, limit=20)} is out of range "
            f"(block numbers and transformer indices are 0 to {MAX_NUMBER})"
        )
    return int(digits)


def parse_layer_list(text: str) -> list[LayerRule]:
    """Parses the custom layer list; raises ValueError naming the entry it cannot read."""
    rules = []
    for raw in text.replace(";", ",").replace("\n", ",").split(","):
        entry = "".join(raw.split()).lower()
        if not entry:
            continue
        match = _ENTRY.match(entry)
        part = PART_ALIASES.get(match["part"]) if match else None
        if part is None:
            raise ValueError(
                f"layer list entry {quote(raw.strip())} is not understood: expected a part name "
                f"({', '.join(sorted(set(PART_ALIASES.values())))}) optionally followed by block numbers "
                "and '.transformer indices', e.g. 'input 7-8' or 'output 0.0-4'"
            )
        rules.append(
            LayerRule(part, _number_range(match["blocks"], raw), _number_range(match["indices"], raw), raw.strip())
        )
    return rules


def select_sites(sites: Sequence[Site], rules: Iterable[LayerRule]) -> list[Site]:
    """The sites matched by any rule, in model order. A rule that matches nothing is an error."""
    rules = list(rules)
    for rule in rules:
        if not any(rule.matches(site) for site in sites):
            raise ValueError(
                f"layer list entry {quote(rule.text)} matches no attention layer of this model; "
                f"it has: {describe_sites(sites)}"
            )
    return [site for site in sites if any(rule.matches(site) for rule in rules)]


def describe_sites(sites: Sequence[Site]) -> str:
    """A short inventory, e.g. 'input 4-5 (2 layers each), input 7-8 (10 layers each), middle 0 (10 layers)'."""
    depth: dict[tuple[str, int], int] = {}
    for site in sites:
        depth[site.part, site.block] = depth.get((site.part, site.block), 0) + 1
    groups: dict[tuple[str, int], list[int]] = {}
    for (part, block), layers in depth.items():
        groups.setdefault((part, layers), []).append(block)
    entries = []
    for (part, layers), blocks in groups.items():
        each = " each" if len(blocks) > 1 else ""
        plural = "s" if layers > 1 else ""
        entries.append(f"{part} {_spans(sorted(blocks))} ({layers} layer{plural}{each})")
    return ", ".join(entries)


def _spans(numbers: list[int]) -> str:
    """[0, 1, 2, 5] -> '0-2,5'."""
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ",".join(f"{a}-{b}" if b > a else f"{a}" for a, b in spans)
