"""render_namespace_prompt: the TypeScript-like plugin prompt."""

from __future__ import annotations

from typing import Any

from powerstrip.openapi import render_namespace_prompt

from .builders import document, operation, toolset


def _doc() -> dict[str, Any]:
    params = [
        {"name": "username", "in": "path", "required": True, "description": "The user."},
        {
            "name": "status",
            "in": "query",
            "schema": {"type": "string", "enum": ["open", "done"], "default": "open"},
        },
        {"name": "x-page-size", "in": "header", "schema": {"type": "integer"}},
    ]
    body = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}},
            "kinds": {"type": "array", "items": {"enum": ["a", "b"]}},
            "owner": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                "required": ["name"],
            },
            "note": {"type": ["string", "null"], "description": "Multi\nline."},
        },
        "required": ["tags"],
    }
    return document(
        {
            "/todos/{username}": {
                "get": operation("getTodos", summary="Get the todos", parameters=params),
                "post": operation(
                    "addTodo",
                    summary="Add a todo",
                    requestBody={"content": {"application/json": {"schema": body}}},
                    parameters=[{"name": "username", "in": "path", "required": True}],
                ),
            },
            "/ping": {"get": operation("ping", summary="Ping")},
        }
    )


EXPECTED = """\
// Plugin for managing a TODO list.
namespace todo {

// Get the todos
type getTodos = (_: {
username: string, // The user.
status?: "open" | "done", // default: "open"
"x-page-size"?: number,
}) => any;

// Add a todo
type addTodo = (_: {
username: string,
tags: string[],
kinds?: ("a" | "b")[],
owner?: { name: string, age?: number },
note?: string | null, // Multi line.
}) => any;

// Ping
type ping = () => any;

} // namespace todo
"""


def test_renders_the_namespace_prompt() -> None:
    ts = toolset(_doc())
    assert render_namespace_prompt(ts, "Plugin for managing a TODO list.") == EXPECTED


def test_rendering_is_deterministic() -> None:
    first = render_namespace_prompt(toolset(_doc()), "d")
    assert all(render_namespace_prompt(toolset(_doc()), "d") == first for _ in range(3))


def test_recursive_and_empty_schemas_render() -> None:
    schema = {
        "type": "object",
        "properties": {
            "any": {},
            "node": {"$ref": "#/components/schemas/Node"},
            "c": {"const": 3},
            "u": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        },
    }
    node = {"type": "object", "properties": {"next": {"$ref": "#/components/schemas/Node"}}}
    doc = document(
        {"/n": {"post": operation("n", requestBody={"content": {"*/*": {"schema": schema}}})}},
        components={"schemas": {"Node": node}},
    )
    text = render_namespace_prompt(toolset(doc), "")
    assert text.startswith("namespace todo {")
    assert "any?: any," in text
    assert "node?: { next?: object }," in text
    assert "c?: 3," in text
    assert "u?: string | number," in text
