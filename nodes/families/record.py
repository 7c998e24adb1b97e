"""The data of every family record, kept in ``catalog.json`` under the record's name: the model classes it
matches and where their blocks are, and what it says to users — its words in the supported-families text, which
keys count as text, and its rows of the compatibility table (docs/compatibility.md, by scripts/build_docs.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

CATALOG: dict[str, dict[str, Any]] = json.loads(Path(__file__).with_name("catalog.json").read_text(encoding="utf-8"))
COMPOSITION_ENTRY = "(with other nodes)"  # the catalog's rows on composing with other nodes, not a family


@dataclass(frozen=True, kw_only=True)
class CompatibilityRow:
    """One row of the compatibility table: which models, whether PLADIS patches them (yes, no, —, or how it
    composes), how, the tests behind it, and the web presets (web/pladis.js) that are their starting point."""

    models: str
    supported: str
    how: str
    tests: str
    presets: tuple[str, ...] = ()


def catalog_rows(entry: str) -> tuple[CompatibilityRow, ...]:
    rows = CATALOG[entry]["rows"]
    return tuple(CompatibilityRow(**{**row, "presets": tuple(row.get("presets", ()))}) for row in rows)


def frozen_copy(value: Any) -> Any:
    """A catalog value with its lists as tuples."""
    return tuple(frozen_copy(item) for item in value) if isinstance(value, list) else value


@dataclass(frozen=True, kw_only=True)
class Described:
    """A family record, found in the catalog by ``name`` (its name in the log and the report too); the fields a
    record class lists in ``FROM_CATALOG`` (which model classes it matches, where their blocks are) are read from
    its catalog entry when it is made."""

    FROM_CATALOG: ClassVar[tuple[str, ...]] = ()
    name: str

    def __post_init__(self) -> None:
        entry = CATALOG[self.name]
        for field_name in self.FROM_CATALOG:
            object.__setattr__(self, field_name, frozen_copy(entry.get(field_name, [])))

    @property
    def supported_as(self) -> str:
        """Its words in the supported-families text of the node's error and help page ("" if refused)."""
        return CATALOG[self.name].get("supported_as", "")

    @property
    def text_keys(self) -> str:
        """Which keys count as text, and why ("" where PLADIS patches nothing)."""
        return CATALOG[self.name].get("text_keys", "")

    @property
    def rows(self) -> tuple[CompatibilityRow, ...]:
        return catalog_rows(self.name)
