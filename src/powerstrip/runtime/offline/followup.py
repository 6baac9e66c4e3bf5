"""Follow-up turns: "delete the second one", and arguments carried over from earlier calls.

The router keeps no memory between turns, so everything comes from the history: the last list
a plugin returned (for "the second one"), and the arguments of earlier calls (the username
given two turns ago still applies).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from powerstrip.runtime.model import ChatMessage
from powerstrip.runtime.offline.params import Param
from powerstrip.runtime.offline.render import main_records, parse_body

__all__ = [
    "ORDINAL_WORDS",
    "earlier_arguments",
    "last_record",
    "last_records",
    "ordinal",
    "points_back",
    "record_arguments",
]

_POINTER = re.compile(r"\b(?:it|that|this|that one|this one)\b", re.IGNORECASE)


def points_back(text: str) -> bool:
    """Whether the message points at something already said ("take it off", "delete that")."""
    return _POINTER.search(text) is not None


def last_record(history: Sequence[ChatMessage]) -> Mapping[str, Any] | None:
    """The one record the most recent tool result was about (the todo just added)."""
    for message in reversed(history):
        if message.role != "tool" or not message.content:
            continue
        value, _ = parse_body(message.content)
        if isinstance(value, Mapping):
            _, items = main_records(value)
            if items is None:
                inner = [v for v in value.values() if isinstance(v, Mapping)]
                return inner[0] if len(inner) == 1 and "id" not in value else value
        return None
    return None


ORDINAL_WORDS = {
    "first": 0,
    "second": 1,
    "third": 2,
    "fourth": 3,
    "fifth": 4,
    "sixth": 5,
    "seventh": 6,
    "eighth": 7,
    "ninth": 8,
    "tenth": 9,
    "last": -1,
    "latest": -1,
}
_ORDINAL = re.compile(
    r"\b(?:the\s+)?(" + "|".join(ORDINAL_WORDS) + r")\b(?:\s+(?:one|item|entry|record|row|todo))?"
    r"|\b(\d{1,3})(?:st|nd|rd|th)\b"
    r"|(?:#|\bnumber\s+|\bno\.\s*|\bitem\s+|\brow\s+)(\d{1,3})\b",
    re.IGNORECASE,
)


def ordinal(text: str) -> tuple[int, tuple[int, int]] | None:
    """The position the user points at ("the second one" → 1, "the last" → -1) and its span."""
    match = _ORDINAL.search(text)
    if match is None:
        return None
    if match[1]:
        return ORDINAL_WORDS[match[1].lower()], match.span()
    number = int(match[2] or match[3])
    return (number - 1, match.span()) if number >= 1 else None


def last_records(history: Sequence[ChatMessage]) -> list[Mapping[str, Any]] | None:
    """The records of the most recent tool result that was a list of objects."""
    for message in reversed(history):
        if message.role != "tool" or not message.content:
            continue
        value, _ = parse_body(message.content)
        _, items = main_records(value)
        if items and all(isinstance(item, Mapping) for item in items):
            return items
    return None


def earlier_arguments(history: Sequence[ChatMessage]) -> dict[str, Any]:  # Any: JSON
    """Arguments of earlier calls by name, the most recent value winning."""
    merged: dict[str, Any] = {}
    for message in history:
        for call in message.tool_calls:
            try:
                arguments = json.loads(call.arguments or "{}")
            except ValueError:
                continue
            if isinstance(arguments, dict):
                merged.update(arguments)
    return merged


def _key_for(param: Param, record: Mapping[str, Any]) -> str | None:
    if param.name in record:
        return param.name
    lowered = {str(key).lower(): str(key) for key in record}
    name = param.name.lower()
    if name in lowered:
        return lowered[name]
    # `todo_id` / `todoId` on a todo record is the record's own `id`.
    if name.endswith("id") and "id" in lowered:
        return lowered["id"]
    return None


def record_arguments(params: Sequence[Param], record: Mapping[str, Any]) -> dict[str, Any]:
    """Values a record gives for these parameters (`id` for `todo_id`, same-named fields)."""
    out: dict[str, Any] = {}
    for param in params:
        key = _key_for(param, record)
        if key is not None and not isinstance(record[key], Mapping | list):
            out[param.name] = record[key]
    return out
