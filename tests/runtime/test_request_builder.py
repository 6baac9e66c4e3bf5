"""build_request: a URL only gains a path under the chosen API base, whatever spec or model say."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import pytest

from powerstrip.openapi import Tool, convert, load_spec
from powerstrip.runtime.request_builder import UnsafeArgumentError, build_request

SPEC = """
openapi: 3.0.1
info: {title: T, version: v1}
paths:
  /items/{item_id}:
    get:
      operationId: getItem
      parameters:
        - {name: item_id, in: path, required: true, schema: {type: string}}
        - {name: q, in: query, schema: {type: string}}
        - {name: X-Trace, in: header, schema: {type: string}}
      responses: {"200": {description: OK}}
"""


def _tool(path: str | None = None) -> Tool:
    [tool] = convert(load_spec(SPEC), namespace="t").tools
    return tool if path is None else replace(tool, path=path)


@pytest.mark.parametrize(
    ("path", "item_id"),
    [
        (".{item_id}/x", "evil.example"),  # the model picks the host: api.example.com.evil.example
        ("@evil.example/{item_id}", "x"),  # userinfo: the host becomes evil.example
        ("{item_id}/x", "@evil.example"),
        ("items/{item_id}", "x"),
        ("/a/../../{item_id}", "x"),  # climbs out of the base path /v1
        ("/a\\..\\{item_id}", "x"),
        ("/items/{item_id}#", "x"),
    ],
)
def test_a_spec_path_that_would_leave_the_base_is_refused(path: str, item_id: str) -> None:
    # The converter refuses such paths (PS327); the builder refuses them again, so no tool made
    # any other way (an old cached conversion, a test double) can send the key elsewhere.
    with pytest.raises(UnsafeArgumentError, match="path"):
        build_request(_tool(path), {"item_id": item_id}, "https://api.example.com/v1")


@pytest.mark.parametrize(
    "value", ["a/b", "..%2F", "@evil.example", "?admin=1", "#x", "x:y@z", "évé", "a b"]
)
def test_a_path_value_stays_one_segment_under_the_base(value: str) -> None:
    request = build_request(_tool(), {"item_id": value}, "https://api.example.com/v1/")
    parts = urlsplit(request.url)
    assert (parts.scheme, parts.netloc) == ("https", "api.example.com")
    assert parts.path.startswith("/v1/items/")
    assert "/" not in parts.path.removeprefix("/v1/items/")
    assert (parts.query, parts.fragment) == ("", "")


def test_the_base_path_is_kept_and_a_template_query_joins_the_arguments() -> None:
    tool = replace(_tool(), path="/items/{item_id}?fixed=1")
    request = build_request(tool, {"item_id": "7", "q": "x y"}, "https://api.example.com/v1")
    assert request.url == "https://api.example.com/v1/items/7?fixed=1&q=x+y"


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"item_id": "\ud800"}, "item_id"),
        ({"item_id": "1", "q": "caf\udce9"}, "q"),
        ({"item_id": "1", "X-Trace": "naïve"}, "X-Trace"),
        ({"item_id": "1", "X-Trace": "a\r\nInjected: 1"}, "X-Trace"),
    ],
)
def test_values_that_cannot_be_sent_are_refused_naming_the_argument(
    arguments: dict[str, Any], problem: str
) -> None:
    with pytest.raises(UnsafeArgumentError, match=problem):
        build_request(_tool(), arguments, "https://api.example.com")
