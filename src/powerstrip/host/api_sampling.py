"""An API caller's sampling options, read from OpenAI's three spellings of them.

Chat Completions (`temperature`, `max_completion_tokens`, `stop`, `response_format`, ...), the
Responses API (`max_output_tokens`, `text.format`) and Assistants runs
(`max_completion_tokens`, `response_format`) name the same wishes differently; each becomes one
`SamplingOptions` the model backend receives with every completion of the turn. The edge has
checked ranges and types already; what is checked here is the shape of a response format.

    options = chat_sampling(temperature=0.2, stop="END", response_format={"type": "json_object"})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from powerstrip.errors import InvalidInputError
from powerstrip.runtime import SamplingOptions

__all__ = ["chat_response_format", "chat_sampling", "text_format"]

JSON = dict[str, Any]  # Any: OpenAI's JSON

_FORMAT_FIX = (
    'use {"type": "text"}, {"type": "json_object"} or {"type": "json_schema", "json_schema": '
    '{"name": "answer", "schema": {...}}}'
)
_TEXT_FORMAT_FIX = (
    'use {"format": {"type": "text"}}, {"format": {"type": "json_object"}} or {"format": '
    '{"type": "json_schema", "name": "answer", "schema": {...}}}'
)


def chat_sampling(
    *,
    temperature: float | None = None,
    top_p: float | None = None,
    max_tokens: int | None = None,
    stop: str | list[str] | None = None,
    seed: int | None = None,
    presence_penalty: float | None = None,
    frequency_penalty: float | None = None,
    response_format: Any = None,  # Any: unvalidated JSON (or "auto")
) -> SamplingOptions:
    """Options in Chat Completions' names; `max_tokens` is `max_completion_tokens` or the old
    `max_tokens`, whichever the caller sent."""
    return SamplingOptions(
        temperature=temperature,
        top_p=top_p,
        max_tokens=max_tokens,
        stop=(stop,) if isinstance(stop, str) else tuple(stop or ()),
        seed=seed,
        presence_penalty=presence_penalty,
        frequency_penalty=frequency_penalty,
        response_format=chat_response_format(response_format),
    )


def chat_response_format(value: Any, where: str = "response_format") -> JSON | None:  # Any: JSON
    """Chat Completions' `response_format`, checked; None for plain text (the default)."""
    if value is None or value == "auto":
        return None
    kind = value.get("type") if isinstance(value, Mapping) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        schema = value.get("json_schema")
        if (
            not isinstance(schema, Mapping)
            or not isinstance(schema.get("name"), str)
            or not isinstance(schema.get("schema", {}), Mapping)
        ):
            raise InvalidInputError(
                "a json_schema response format needs json_schema with a name and a schema",
                where=f"{where}.json_schema",
                fix=_FORMAT_FIX,
            )
        return {"type": "json_schema", "json_schema": dict(schema)}
    raise InvalidInputError(
        f"response format type {kind!r} is not text, json_object or json_schema",
        where=where,
        fix=_FORMAT_FIX,
    )


def text_format(text: Any) -> JSON | None:  # Any: the Responses API's `text`, unvalidated JSON
    """The Responses API's `text.format` as Chat Completions' `response_format` (None: text)."""
    if text is None:
        return None
    format_ = text.get("format") if isinstance(text, Mapping) else None
    if format_ is None:
        return None
    kind = format_.get("type") if isinstance(format_, Mapping) else None
    if kind == "json_schema":
        if not isinstance(format_.get("name"), str) or not isinstance(
            format_.get("schema"), Mapping
        ):
            raise InvalidInputError(
                "a json_schema text format needs a name and a schema",
                where="text.format",
                fix=_TEXT_FORMAT_FIX,
            )
        schema: JSON = {"name": format_["name"], "schema": dict(format_["schema"])}
        for key in ("description", "strict"):
            if format_.get(key) is not None:
                schema[key] = format_[key]
        return {"type": "json_schema", "json_schema": schema}
    if kind in ("text", "json_object"):
        return chat_response_format({"type": kind}, "text.format")
    raise InvalidInputError(
        f"text format type {kind!r} is not text, json_object or json_schema",
        where="text.format",
        fix=_TEXT_FORMAT_FIX,
    )
