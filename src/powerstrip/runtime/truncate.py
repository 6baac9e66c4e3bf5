"""Cut a plugin's response to what the model may see (spec §6: at most 100,000 characters).

A JSON array keeps whole records and says how many were left out, rather than ending mid-value;
a JSON object keeps its keys and shortens its largest list; anything else is cut with a marker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["MODEL_RESPONSE_LIMIT", "Truncated", "truncate_for_model"]

MODEL_RESPONSE_LIMIT = 100_000


@dataclass(frozen=True, slots=True)
class Truncated:
    """The text the model gets, and whether anything was left out."""

    text: str
    truncated: bool
    omitted_records: int = 0


def _dump(value: Any) -> str:  # Any: JSON
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _fit_list(items: list[Any], budget: int) -> tuple[list[Any], int]:
    """The longest prefix of `items` whose JSON fits in `budget` characters."""
    kept: list[Any] = []
    used = 2  # the brackets
    for item in items:
        size = len(_dump(item)) + 1
        if used + size > budget:
            break
        kept.append(item)
        used += size
    return kept, len(items) - len(kept)


def truncate_for_model(text: str, limit: int = MODEL_RESPONSE_LIMIT) -> Truncated:
    """`text` as is when it fits; otherwise a shorter version that says what was left out."""
    if len(text) <= limit:
        return Truncated(text, truncated=False)
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    note_room = 200
    if isinstance(value, list):
        kept, omitted = _fit_list(value, limit - note_room)
        body = _dump(kept)
        note = f"\n[truncated: showing {len(kept)} of {len(value)} records; {omitted} left out]"
        return Truncated(body + note, truncated=True, omitted_records=omitted)
    if isinstance(value, dict):
        lists = [(k, v) for k, v in value.items() if isinstance(v, list) and v]
        if lists:
            key, items = max(lists, key=lambda kv: len(_dump(kv[1])))
            rest = _dump({**value, key: []})
            if len(rest) + note_room < limit:
                kept, omitted = _fit_list(items, limit - len(rest) - note_room)
                body = _dump({**value, key: kept})
                note = (
                    f"\n[truncated: {key!r} shows {len(kept)} of {len(items)} records; "
                    f"{omitted} left out]"
                )
                return Truncated(body + note, truncated=True, omitted_records=omitted)
    marker = f"\n[truncated: {len(text) - (limit - note_room)} of {len(text)} characters left out]"
    return Truncated(text[: limit - note_room] + marker, truncated=True)
