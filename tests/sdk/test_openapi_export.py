"""The OpenAPI document a plugin serves, and its downgrade from 3.1 to 3.0."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from powerstrip.findings import Severity
from powerstrip.openapi import ToolSet, convert, load_spec
from powerstrip.sdk.openapi_export import ERROR_SCHEMA, export_openapi
from tests.sdk.todo_plugin import BASE, build, client

pytestmark = pytest.mark.anyio

OPERATIONS = {
    ("/todos", "get"): "list_todos",
    ("/lists/{list_id}/todos", "post"): "add_todo",
    ("/todos/{todo_id}", "delete"): "delete_todo",
    ("/whoami", "get"): "whoami",
    ("/crash", "get"): "crash",
}
# The `type` values a 3.0 Schema Object may have (3.0 has no "null" type and no type lists).
TYPES_30 = {"string", "number", "integer", "boolean", "array", "object"}


async def served(path: str, base_url: str = BASE, **options: Any) -> Any:  # Any: JSON
    async with client(build(**options).app(), base_url=base_url) as http:
        reply = await http.get(path)
    assert reply.status_code == 200
    if path.endswith(".yaml"):
        assert reply.headers["content-type"].startswith("application/yaml")
        return yaml.safe_load(reply.text)
    return reply.json()


def operation(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    found: dict[str, Any] = document["paths"][path][method]
    return found


def tools_of(text: str, source: str) -> ToolSet:
    spec = load_spec(text, source=source)
    tools = convert(spec, namespace="todo")
    errors = [str(f) for f in (*spec.findings, *tools.findings) if f.severity is Severity.ERROR]
    assert errors == []
    return tools


def schema_types(node: Any) -> Iterator[object]:  # Any: JSON
    """Every `type` value under a schema keyword, wherever it is nested."""
    if isinstance(node, list):
        for item in node:
            yield from schema_types(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "type" and not isinstance(value, dict):
                yield value
            elif key == "properties" and isinstance(value, dict):
                for schema in value.values():
                    yield from schema_types(schema)
            else:
                yield from schema_types(value)


# -- the served document ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/openapi.yaml", "/openapi.json"])
async def test_the_document_is_openapi_3_0_1_by_default(path: str) -> None:
    document = await served(path)
    assert document["openapi"] == "3.0.1"


@pytest.mark.parametrize("path", ["/openapi.yaml", "/openapi.json"])
async def test_the_document_is_3_1_0_on_request(path: str) -> None:
    document = await served(path, openapi_version="3.1.0")
    assert document["openapi"] == "3.1.0"
    due = document["components"]["schemas"]["NewTodo"]["properties"]["due"]
    assert {"type": "null"} in due["anyOf"]


async def test_yaml_and_json_are_the_same_document() -> None:
    assert await served("/openapi.yaml") == await served("/openapi.json")


async def test_servers_is_the_base_url_the_request_came_to() -> None:
    document = await served("/openapi.json", base_url="https://todo.acme.dev:8443")
    assert document["servers"] == [{"url": "https://todo.acme.dev:8443"}]


async def test_info_comes_from_the_plugin() -> None:
    document = await served("/openapi.json", title="TODO API", version="2.1")
    assert document["info"]["title"] == "TODO API"
    assert document["info"]["version"] == "2.1"
    assert document["info"]["description"] == "Manage your TODO list."


async def test_every_operation_is_listed_with_its_function_name_as_operation_id() -> None:
    document = await served("/openapi.json")
    found = {
        (path, method): op["operationId"]
        for path, item in document["paths"].items()
        for method, op in item.items()
    }
    assert found == OPERATIONS


async def test_plugin_files_are_not_operations() -> None:
    document = await served("/openapi.json")
    for path in ("/.well-known/ai-plugin.json", "/openapi.yaml", "/logo.png", "/legal"):
        assert path not in document["paths"]


async def test_summary_is_the_docstrings_first_line_and_description_the_rest() -> None:
    document = await served("/openapi.json")
    listing = operation(document, "/todos", "get")
    assert listing["summary"] == "List the user's TODOs."
    assert listing["description"] == "The oldest come first; at most `limit` of them."
    adding = operation(document, "/lists/{list_id}/todos", "post")
    assert adding["summary"] == "Add a TODO to one of the user's lists."
    assert "description" not in adding


async def test_consequential_is_declared_only_when_the_author_set_it() -> None:
    document = await served("/openapi.json")
    declared = {
        op["operationId"]: op.get("x-openai-isConsequential")
        for item in document["paths"].values()
        for op in item.values()
    }
    assert declared["add_todo"] is False
    assert declared["delete_todo"] is True
    assert "x-openai-isConsequential" not in operation(document, "/todos", "get")


async def test_every_operation_describes_errors_with_the_one_error_shape() -> None:
    document = await served("/openapi.json")
    assert document["components"]["schemas"]["Error"] == ERROR_SCHEMA
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for (path, method), _ in OPERATIONS.items():
        responses = operation(document, path, method)["responses"]
        assert "422" not in responses
        schema = responses["default"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Error"}


@pytest.mark.parametrize("version", ["3.0.1", "3.1.0"])
async def test_the_document_converts_to_tools_without_errors(version: str) -> None:
    async with client(build(openapi_version=version).app()) as http:
        text = (await http.get("/openapi.yaml")).text
    tools = tools_of(text, "openapi.yaml")
    assert {t.function_name for t in tools.tools} == {f"todo__{o}" for o in OPERATIONS.values()}
    assert tools.servers == (BASE,)


async def test_tool_parameters_merge_path_query_and_body_as_in_the_signature() -> None:
    async with client(build().app()) as http:
        text = (await http.get("/openapi.json")).text
    adding = tools_of(text, "openapi.json").lookup("todo__add_todo")
    # add_todo(list_id: int, todo: NewTodo, ctx: CallContext, priority: int = 0)
    properties = adding.parameters["properties"]
    assert set(properties) == {"list_id", "priority", "text", "due"}
    assert set(adding.parameters["required"]) == {"list_id", "text"}
    assert properties["list_id"]["type"] == "integer"
    assert properties["priority"]["default"] == 0
    assert properties["text"]["description"] == "What there is to do."
    where = {b.argument: b.location for b in adding.bindings}
    assert where == {"list_id": "path", "priority": "query", "text": "body", "due": "body"}
    assert (adding.consequential, adding.consequential_declared) == (False, False)


async def test_a_call_context_parameter_is_not_shown_to_the_model() -> None:
    async with client(build().app()) as http:
        text = (await http.get("/openapi.json")).text
    tools = tools_of(text, "openapi.json")
    assert tools.lookup("todo__whoami").parameters.get("properties", {}) == {}
    assert set(tools.lookup("todo__list_todos").parameters["properties"]) == {"limit"}


async def test_an_operation_returning_nothing_still_uses_only_3_0_types() -> None:
    plugin = build()

    @plugin.delete("/lists/{list_id}")
    def delete_list(list_id: int) -> None:
        """Delete a whole list."""

    async with client(plugin.app()) as http:
        document = (await http.get("/openapi.json")).json()
    assert document["openapi"] == "3.0.1"
    assert set(map(str, schema_types(document))) <= TYPES_30


async def test_the_served_3_0_document_uses_only_3_0_types() -> None:
    document = await served("/openapi.json")
    assert set(map(str, schema_types(document))) <= TYPES_30


# -- export_openapi on hand-made documents ---------------------------------------------------


def doc_with(schema: dict[str, Any]) -> dict[str, Any]:
    """A 3.1 document whose one component schema is `schema`."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "T", "version": "1"},
        "paths": {},
        "components": {"schemas": {"Thing": schema}},
    }


def to_30(schema: dict[str, Any]) -> dict[str, Any]:
    exported = export_openapi(doc_with(schema), base_url=BASE, version="3.0.1")
    assert exported["openapi"] == "3.0.1"
    thing: dict[str, Any] = exported["components"]["schemas"]["Thing"]
    return thing


def test_any_of_a_type_and_null_becomes_nullable() -> None:
    schema = {"anyOf": [{"type": "string", "maxLength": 5}, {"type": "null"}], "title": "Due"}
    assert to_30(schema) == {"type": "string", "maxLength": 5, "nullable": True, "title": "Due"}


def test_any_of_a_ref_and_null_becomes_a_nullable_all_of() -> None:
    schema = {"anyOf": [{"$ref": "#/components/schemas/Todo"}, {"type": "null"}]}
    assert to_30(schema) == {"allOf": [{"$ref": "#/components/schemas/Todo"}], "nullable": True}


def test_any_of_several_types_and_null_keeps_the_types_and_becomes_nullable() -> None:
    schema = {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]}
    assert to_30(schema) == {"anyOf": [{"type": "string"}, {"type": "integer"}], "nullable": True}


def test_a_type_list_with_null_becomes_one_nullable_type() -> None:
    assert to_30({"type": ["integer", "null"]}) == {"type": "integer", "nullable": True}


def test_const_becomes_a_one_value_enum() -> None:
    assert to_30({"type": "string", "const": "todo"}) == {"type": "string", "enum": ["todo"]}


def test_a_nullable_const_becomes_a_nullable_enum() -> None:
    schema = {"anyOf": [{"const": "a", "type": "string"}, {"type": "null"}]}
    assert to_30(schema) == {"type": "string", "enum": ["a"], "nullable": True}


@pytest.mark.parametrize(
    ("bound", "plain"), [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")]
)
def test_a_numeric_exclusive_bound_becomes_the_3_0_boolean_form(bound: str, plain: str) -> None:
    assert to_30({"type": "number", bound: 0}) == {"type": "number", plain: 0, bound: True}


def test_a_boolean_exclusive_bound_is_left_as_it_is() -> None:
    schema = {"type": "number", "minimum": 1, "exclusiveMinimum": True}
    assert to_30(schema) == schema


def test_examples_become_one_example() -> None:
    assert to_30({"type": "string", "examples": ["milk", "eggs"]}) == {
        "type": "string",
        "example": "milk",
    }


def test_properties_named_like_keywords_are_left_alone() -> None:
    schema = {
        "type": "object",
        "properties": {
            "const": {"type": "number"},
            "type": {"type": "string", "enum": ["a", "b"]},
            "anyOf": {"type": "boolean"},
            "exclusiveMinimum": {"type": "integer"},
        },
        "required": ["const", "type"],
    }
    assert to_30(schema) == schema


def test_a_schema_named_const_is_kept_under_its_name() -> None:
    document = doc_with({"type": "object"})
    document["components"]["schemas"]["const"] = {"const": 1}
    exported = export_openapi(document, base_url=BASE, version="3.0.1")
    assert exported["components"]["schemas"]["const"] == {"enum": [1]}


def test_keywords_inside_property_schemas_are_still_converted() -> None:
    schema = {
        "type": "object",
        "properties": {"const": {"anyOf": [{"type": "integer"}, {"type": "null"}]}},
    }
    assert to_30(schema)["properties"]["const"] == {"type": "integer", "nullable": True}


def test_a_null_schema_has_no_null_type_in_3_0() -> None:
    assert "null" not in set(map(str, schema_types(to_30({"type": "null"}))))


def test_a_default_value_is_data_and_is_not_converted() -> None:
    # An object value whose keys happen to be schema keywords (a filter on kinds, here).
    default = {"type": ["todo", "note"], "const": 3.14}
    schema = {"type": "object", "default": default, "example": default}
    exported = to_30(schema)
    assert exported["default"] == default
    assert exported["example"] == default


def test_jsonschema_dialect_is_dropped_for_3_0() -> None:
    document = doc_with({"type": "string"})
    document["jsonSchemaDialect"] = "https://json-schema.org/draft/2020-12/schema"
    assert "jsonSchemaDialect" not in export_openapi(document, base_url=BASE, version="3.0.1")


def test_3_1_is_exported_as_it_is_apart_from_servers_and_errors() -> None:
    schema = {"anyOf": [{"type": "string"}, {"type": "null"}], "const": "x"}
    exported = export_openapi(doc_with(schema), base_url=BASE, version="3.1.0")
    assert exported["openapi"] == "3.1.0"
    assert exported["components"]["schemas"]["Thing"] == schema
    assert exported["servers"] == [{"url": BASE}]


def test_export_does_not_change_the_document_it_is_given() -> None:
    document = doc_with({"anyOf": [{"type": "string"}, {"type": "null"}]})
    document["paths"] = {"/a": {"get": {"responses": {"422": {"description": "bad"}}}}}
    before = copy.deepcopy(document)
    export_openapi(document, base_url=BASE, version="3.0.1")
    assert document == before


def test_fastapi_validation_errors_are_replaced_by_the_error_shape() -> None:
    document = doc_with({"type": "string"})
    document["components"]["schemas"]["HTTPValidationError"] = {"type": "object"}
    document["paths"] = {
        "/a": {"post": {"responses": {"200": {"description": "OK"}, "422": {"description": "x"}}}}
    }
    exported = export_openapi(document, base_url=BASE, version="3.0.1")
    responses = exported["paths"]["/a"]["post"]["responses"]
    assert set(responses) == {"200", "default"}
    assert "HTTPValidationError" not in exported["components"]["schemas"]
    assert exported["components"]["schemas"]["Error"] == ERROR_SCHEMA


async def test_the_yaml_spec_has_an_etag_and_answers_a_matching_revalidation_with_304() -> None:
    async with client(build().app(), base_url=BASE) as http:
        first = await http.get("/openapi.yaml")
        etag = first.headers["etag"]
        again = await http.get("/openapi.yaml", headers={"If-None-Match": etag})
        other = await http.get("/openapi.yaml", headers={"If-None-Match": '"stale"'})
    assert again.status_code == 304
    assert again.content == b""
    assert (other.status_code, other.text) == (200, first.text)
