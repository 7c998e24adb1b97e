"""Families PLADIS refuses on purpose, each with the reason (shown in the node's error and in the README).

None at present: LTX-2, refused in an earlier release because its model call does not say where the prompt
ends, is described in ``ltx2`` (its prompt length is recorded before the connector).
"""

from __future__ import annotations

REFUSED: dict[str, str] = {}
