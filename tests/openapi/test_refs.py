"""$ref resolution: local pointers, escapes, cycles, broken and external refs."""

from __future__ import annotations

from typing import Any

import pytest

from powerstrip.findings import Severity

from .builders import codes, document, only, operation, toolset


def _body_op(schema: Any) -> dict[str, Any]:
    return operation(
        "createTodo",
        requestBody={"content": {"application/json": {"schema": schema}}, "required": True},
    )


def _doc(schema: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    return document({"/todos": {"post": _body_op(schema)}}, components={"schemas": schemas})


def test_schema_ref_is_inlined() -> None:
    todo = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
    [tool] = toolset(_doc({"$ref": "#/components/schemas/Todo"}, {"Todo": todo})).tools
    assert tool.parameters["properties"] == {"title": {"type": "string"}}
    assert tool.parameters["required"] == ["title"]


@pytest.mark.parametrize(
    ("name", "ref"),
    [
        ("a/b", "#/components/schemas/a~1b"),
        ("t~x", "#/components/schemas/t~0x"),
        ("with space", "#/components/schemas/with%20space"),
    ],
)
def test_json_pointer_escapes_are_decoded(name: str, ref: str) -> None:
    schemas = {name: {"type": "object", "properties": {"n": {"type": "integer"}}}}
    [tool] = toolset(_doc({"$ref": ref}, schemas)).tools
    assert tool.parameters["properties"] == {"n": {"type": "integer"}}


def test_self_recursive_schema_is_cut_once_with_info() -> None:
    node = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
        },
    }
    ts = toolset(_doc({"$ref": "#/components/schemas/Node"}, {"Node": node}))
    children = ts.tools[0].parameters["properties"]["children"]
    assert children["items"] == {"type": "object", "description": "(recursive: Node)"}
    finding = only(ts.findings, "PS309")
    assert finding.severity is Severity.INFO
    assert finding.location == "spec.components.schemas.Node"


def test_mutual_recursion_is_cut_and_memoised_copies_stay_whole() -> None:
    schemas = {
        "A": {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/B"}}},
        "B": {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}}},
    }
    doc = document(
        {
            "/a": {"post": _body_op({"$ref": "#/components/schemas/A"})},
            "/b": {"post": _body_op({"$ref": "#/components/schemas/B"}) | {"operationId": "b"}},
        },
        components={"schemas": schemas},
    )
    a, b = toolset(doc).tools
    assert a.parameters["properties"]["b"]["properties"]["a"]["description"] == "(recursive: A)"
    # B was first expanded inside A (cut at A): that partial copy must not be reused for B.
    inner_b = b.parameters["properties"]["a"]["properties"]["b"]
    assert inner_b["properties"]["a"] == {"type": "object", "description": "(recursive: A)"}


def test_ref_chain_loop_is_an_error_not_a_hang() -> None:
    schemas = {"A": {"$ref": "#/components/schemas/B"}, "B": {"$ref": "#/components/schemas/A"}}
    ts = toolset(_doc({"$ref": "#/components/schemas/A"}, schemas))
    assert len(ts.tools) == 1
    assert "PS309" in codes(ts.findings)


def test_unresolved_ref_is_an_error_at_its_location_and_the_operation_still_converts() -> None:
    schema = {"type": "object", "properties": {"owner": {"$ref": "#/components/schemas/Nope"}}}
    ts = toolset(_doc(schema, {}))
    [tool] = ts.tools
    assert tool.parameters["properties"]["owner"] == {}
    finding = only(ts.findings, "PS308")
    assert finding.severity is Severity.ERROR
    assert finding.location == (
        "spec.paths['/todos'].post.requestBody.content['application/json']"
        ".schema.properties.owner['$ref']"
    )
    assert "#/components/schemas/Nope" in finding.message


def test_same_broken_ref_in_a_shared_schema_is_reported_once() -> None:
    schemas = {"T": {"type": "object", "properties": {"x": {"$ref": "#/nowhere"}}}}
    doc = document(
        {
            "/a": {"post": _body_op({"$ref": "#/components/schemas/T"})},
            "/b": {"put": _body_op({"$ref": "#/components/schemas/T"}) | {"operationId": "b"}},
        },
        components={"schemas": schemas},
    )
    assert codes(toolset(doc).findings).count("PS308") == 1


@pytest.mark.parametrize("ref", ["other.yaml#/Pet", "https://example.com/s.json#/Pet"])
def test_external_ref_is_a_warning_and_replaced_by_any(ref: str) -> None:
    ts = toolset(_doc({"type": "object", "properties": {"pet": {"$ref": ref}}}, {}))
    assert ts.tools[0].parameters["properties"]["pet"] == {}
    finding = only(ts.findings, "PS310")
    assert finding.severity is Severity.WARNING
    assert ref in finding.message


def test_non_string_ref_is_reported() -> None:
    ts = toolset(_doc({"type": "object", "properties": {"p": {"$ref": 7}}}, {}))
    assert "PS308" in codes(ts.findings)


def test_parameter_request_body_and_path_item_refs_are_followed() -> None:
    doc = document(
        {
            "/todos/{id}": {"$ref": "#/components/pathItems/TodoItem"},
        },
        components={
            "pathItems": {
                "TodoItem": {
                    "parameters": [{"$ref": "#/components/parameters/Id"}],
                    "put": operation(
                        "updateTodo", requestBody={"$ref": "#/components/requestBodies/Todo"}
                    ),
                }
            },
            "parameters": {"Id": {"name": "id", "in": "path", "required": True}},
            "requestBodies": {
                "Todo": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"title": {"type": "string"}},
                            }
                        }
                    }
                }
            },
        },
    )
    ts = toolset(doc)
    [tool] = ts.tools
    assert set(tool.parameters["properties"]) == {"id", "title"}
    assert [(b.argument, b.location) for b in tool.bindings] == [("id", "path"), ("title", "body")]
    assert not [f for f in ts.findings if f.severity is Severity.ERROR]


def test_broken_parameter_ref_is_reported_and_skipped() -> None:
    op = operation(parameters=[{"$ref": "#/components/parameters/Missing"}])
    ts = toolset(document({"/todos": {"get": op}}))
    assert ts.tools[0].parameters["properties"] == {}
    assert only(ts.findings, "PS308").location == "spec.paths['/todos'].get.parameters[0]['$ref']"


def test_resolved_schemas_are_shared_not_copied() -> None:
    todo = {"type": "object", "properties": {"t": {"type": "string"}}}
    schema = {"type": "array", "items": {"$ref": "#/components/schemas/Todo"}}
    doc = document(
        {
            "/a": {"post": _body_op(schema)},
            "/b": {"post": _body_op(schema) | {"operationId": "b"}},
        },
        components={"schemas": {"Todo": todo}},
    )
    a, b = toolset(doc).tools
    assert (
        a.parameters["properties"]["body"]["items"] is b.parameters["properties"]["body"]["items"]
    )
