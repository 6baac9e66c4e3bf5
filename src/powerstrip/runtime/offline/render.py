"""A plugin's answer as text a person reads: tables for records, sentences for errors.

The input is what the executor gave the model for one call: the response body (maybe cut, with
a `[truncated: ...]` note), or one of the executor's or loop's own failure sentences.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "MAX_COLUMNS",
    "MAX_ROWS",
    "is_declined",
    "main_records",
    "parse_body",
    "render_ranked",
    "render_result",
]

MAX_ROWS = 20
MAX_COLUMNS = 8
_MAX_TEXT = 2_000
_MAX_CELL = 80
_TRUNCATION_NOTE = re.compile(r"\n\[truncated: ([^\]]*)\]\s*$")
_HTTP_ERROR = re.compile(r"^The plugin answered HTTP (\d{3})([^:\n]*):\n?(.*)$", re.DOTALL)
_INVALID = re.compile(r"^The arguments for (\S+) are not valid: (.*)$", re.DOTALL)
_FAILED = re.compile(r"^The call to (\S+) failed: (.*)$", re.DOTALL)
_DECLINED = "The user declined this call"


def parse_body(content: str) -> tuple[Any, str | None]:  # Any: JSON
    """The JSON of a response body (None if it is not JSON) and its truncation note, if any."""
    note = None
    match = _TRUNCATION_NOTE.search(content)
    if match:
        note = match[1]
        content = content[: match.start()]
    try:
        return json.loads(content), note
    except ValueError:
        return None, note


def main_records(value: Any) -> tuple[str | None, list[Any] | None]:  # Any: JSON
    """The list a response is about (`{"data": [...]}`, `{"todos": [...]}` or a bare list)."""
    if isinstance(value, list):
        return None, value
    if isinstance(value, Mapping):
        lists = [(str(k), v) for k, v in value.items() if isinstance(v, list)]
        if len(lists) == 1:
            return lists[0]
        if lists:
            key, items = max(lists, key=lambda kv: len(kv[1]))
            return key, items
    return None, None


# JSON's scalars: a value of one of these types is no Mapping, which spares the ABC check (a
# table of 20 rows and a dozen fields checks a few hundred values per answer).
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _is_mapping(value: Any) -> bool:  # Any: JSON
    kind = type(value)
    return kind is dict or (kind not in _SCALARS and isinstance(value, Mapping))


def _cell(value: Any) -> str:  # Any: JSON
    kind = type(value)
    text: str
    if kind is str:
        text = value
    elif kind is int:
        text = str(value)
        if len(text) <= _MAX_CELL:
            return text  # digits only: nothing to escape
    elif value is None:
        return ""
    elif kind is bool:
        return "yes" if value else "no"
    elif isinstance(value, float):
        text = f"{value:.3f}".rstrip("0").rstrip(".")
    elif isinstance(value, list):
        if all(not (_is_mapping(v) or isinstance(v, list)) for v in value):
            text = ", ".join(_cell(v) for v in value)
        else:
            text = f"{len(value)} items"
    elif _is_mapping(value):
        text = ", ".join(f"{k}: {_cell(v)}" for k, v in value.items())
    else:
        text = str(value)
    if "|" in text or "\n" in text:
        text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


def _flatten(record: Mapping[str, Any]) -> dict[str, Any]:  # Any: JSON
    """One level of nesting becomes `outer.inner` columns (`batting.avg`)."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if _is_mapping(value) and value and len(value) <= MAX_COLUMNS:
            for inner, item in value.items():
                flat[f"{key}.{inner}"] = item
        else:
            flat[str(key)] = value
    return flat


def _table(records: Sequence[Mapping[str, Any]]) -> str:
    rows = [_flatten(r) for r in records[:MAX_ROWS]]
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    cells = {c: [_cell(row.get(c)) for row in rows] for c in columns}
    # Room goes to what tells the rows apart: a column equal in every row becomes one line
    # above the table, and a copy of an earlier column ("franchise_name" = "name") goes.
    constant = [c for c in columns if len(rows) > 2 and len(set(cells[c])) == 1 and cells[c][0]]
    varying: list[str] = []
    for column in columns:
        if column not in constant and all(cells[column] != cells[other] for other in varying):
            varying.append(column)
    shown = varying[:MAX_COLUMNS]
    hidden = [c for c in columns if c not in shown and c not in constant]
    lines = []
    if constant:
        lines.append("All rows: " + ", ".join(f"{c} {cells[c][0]}" for c in constant) + ".\n")
    lines += [
        "| " + " | ".join(_cell(c) for c in shown) + " |",
        "| " + " | ".join("---" for _ in shown) + " |",
    ]
    lines += ["| " + " | ".join(cells[c][i] for c in shown) + " |" for i in range(len(rows))]
    if hidden:
        lines.append(f"\n(Columns not shown: {', '.join(hidden)}.)")
    return "\n".join(lines)


def _count_line(total: int, shown: int, noun: str, reported: int | None) -> str:
    matches = reported if reported is not None and reported >= total else total
    if matches > shown:
        return f"Showing {shown} of {matches} {noun}."
    return f"{matches} {noun if matches != 1 else noun.rstrip('s') or noun}."


def _reported_total(value: Any) -> int | None:  # Any: JSON
    """A total the response states itself (`meta.total`, `total`, `count`)."""
    if not isinstance(value, Mapping):
        return None
    for holder in (value, value.get("meta")):
        if isinstance(holder, Mapping):
            for key in ("total", "count", "total_count"):
                total = holder.get(key)
                if isinstance(total, int) and not isinstance(total, bool):
                    return total
    return None


def _records(key: str | None, items: list[Any], whole: Any) -> str:  # Any: JSON
    noun = (key or "results").replace("_", " ")
    if key in ("data", "items", "results"):
        noun = "results"
    if not items:
        return f"No {noun}: the list is empty."
    count = _count_line(len(items), min(len(items), MAX_ROWS), noun, _reported_total(whole))
    if len(items) == 1 and isinstance(items[0], Mapping):
        # One record: every field of it, not a table that hides some columns.
        return f"{count}\n\n" + "\n".join(_fields(items[0]))
    if all(isinstance(item, Mapping) for item in items):
        return f"{count}\n\n{_table(items)}"
    bullets = "\n".join(f"- {_cell(item)}" for item in items[:MAX_ROWS])
    return f"{count}\n\n{bullets}"


def _fields(value: Mapping[str, Any], depth: int = 0) -> list[str]:
    lines: list[str] = []
    pad = "  " * depth
    for key, item in list(value.items())[:MAX_ROWS]:
        if isinstance(item, Mapping) and depth < 2:
            lines.append(f"{pad}- {key}:")
            lines += _fields(item, depth + 1)
        elif isinstance(item, list) and item and all(isinstance(i, Mapping) for i in item):
            lines.append(f"{pad}- {key}: {len(item)} records")
        else:
            lines.append(f"{pad}- {key}: {_cell(item)}")
    if len(value) > MAX_ROWS:
        lines.append(f"{pad}- … and {len(value) - MAX_ROWS} more fields")
    return lines


def _render_value(value: Any) -> str:  # Any: JSON
    key, items = main_records(value)
    if items is not None and (key is None or _is_wrapper(value, key)):
        return _records(key, items, value)
    if isinstance(value, Mapping):
        if not value:
            return "Done (the plugin returned an empty object)."
        return "\n".join(_fields(value))
    if value is None:
        return "Done (the plugin returned nothing)."
    return _cell(value) if not isinstance(value, str) else value[:_MAX_TEXT]


def _is_wrapper(value: Any, key: str) -> bool:  # Any: JSON
    """Whether a dict is just a list plus metadata (`{"data": [...], "meta": {...}}`)."""
    if not isinstance(value, Mapping):
        return False
    others = [v for k, v in value.items() if k != key]
    return all(not isinstance(v, list) for v in others) and len(others) <= 3


def _error_message(body: str) -> str:
    value, _ = parse_body(body)
    if isinstance(value, Mapping):
        error = value.get("error", value)
        if isinstance(error, Mapping):
            for key in ("message", "detail", "error_description", "description"):
                if isinstance(error.get(key), str):
                    return str(error[key])
        if isinstance(error, str):
            return error
        detail = value.get("detail")
        if isinstance(detail, str):
            return detail
    text = body.strip()
    return text[:300] + ("…" if len(text) > 300 else "")


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def is_declined(content: str | None) -> bool:
    """Whether a tool result says the user declined the call, so nothing was called."""
    return (content or "").startswith(_DECLINED)


def render_result(content: str | None) -> str:
    """Markdown for one call's result as the executor reported it."""
    content = content or ""
    if is_declined(content):
        return "You declined this call, so it was not made."
    if match := _HTTP_ERROR.match(content):
        status, note, body = match[1], match[2].strip(), match[3]
        message = _error_message(body)
        where = f"HTTP {status}{' ' + note if note else ''}"
        return _sentence(f"The plugin refused the request ({where}): {message}")
    if match := _INVALID.match(content):
        return _sentence(f"The call was not made because the arguments were not valid: {match[2]}")
    if match := _FAILED.match(content):
        return _sentence(f"The call did not complete: {match[2]}")
    value, note = parse_body(content)
    if value is None and not content.strip().startswith("null"):
        text = content.strip()
        if not text:
            return "Done (the plugin returned no content)."
        if len(text) > _MAX_TEXT:
            return f"{text[:_MAX_TEXT]}…\n\n(Showing {_MAX_TEXT} of {len(text)} characters.)"
        return text
    rendered = _render_value(value)
    if note:
        rendered += f"\n\n(The response was too long and was cut: {note}.)"
    return rendered


def _label(record: Mapping[str, Any]) -> str:
    """What a record is called: its name-like field, else its id."""
    for key, value in record.items():
        if isinstance(value, str) and value and str(key).lower().endswith("name"):
            return value
    for key in ("title", "label", "id"):
        value = record.get(key)
        if value is not None and not isinstance(value, Mapping | list):
            return str(value)
    return ""


def _dotted(record: Mapping[str, Any], field: str) -> Any:  # Any: JSON
    value: Any = record
    for part in field.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def render_ranked(
    field: str, records: Sequence[Mapping[str, Any]], count: int, fetched: int
) -> str:
    """Records sorted by `field` (by the caller): the first `count` named, then a table."""
    top = records[:count]
    named = ", ".join(f"{_label(r)} ({_cell(_dotted(r, field))})" for r in top)
    lead = "Top" if count > 1 else "First"
    shown = records[: max(count, 5)]
    return (
        f"{lead} by {field.replace('_', ' ')} (of the {fetched} records returned): {named}."
        f"\n\n{_table(shown)}"
    )
