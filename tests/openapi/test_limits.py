"""Size limits: a tiny spec must not expand into minutes of work or megabytes of tool schema.

Each test asserts on sizes and findings, not on time: without the limits the same inputs take
minutes (YAML aliases) or serialise to gigabytes (`$ref` fan-out).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from powerstrip.errors import SpecError
from powerstrip.findings import Severity
from powerstrip.openapi import load_spec
from powerstrip.openapi.budget import CUT_SCHEMA, MAX_SCHEMA_NODES, fit_schema
from powerstrip.openapi.load import MAX_ALIAS_EXPANSION

from .builders import codes, document, only, operation, toolset

# Comfortably above MAX_SCHEMA_NODES JSON values however long the strings, far below the
# megabytes the attacks produce without the limit.
MAX_TOOL_JSON_CHARS = 1_000_000


def _alias_bomb(levels: int) -> str:
    """Each anchor repeats the previous one ten times: 10**levels strings from ~1 KB of YAML."""
    defs = ["a0: &a0 {type: string, description: x}"]
    for i in range(1, levels + 1):
        props = ", ".join(f"p{j}: *a{i - 1}" for j in range(10))
        defs.append(f"a{i}: &a{i} {{type: object, properties: {{{props}}}}}")
    return (
        "openapi: 3.0.1\ninfo: {title: t, version: '1'}\nx-defs:\n"
        + "".join(f"  {d}\n" for d in defs)
        + "paths:\n  /x:\n    post:\n      operationId: op\n"
        + f"      requestBody: {{content: {{application/json: {{schema: *a{levels}}}}}}}\n"
        + "      responses: {'200': {description: ok}}\n"
    )


def _ref_fan_out(levels: int, *, recursive: bool = False) -> dict[str, Any]:
    """s{i} has ten properties that each $ref s{i-1}; optionally s0 refers back to the top."""
    top = f"#/components/schemas/s{levels}"
    s0: dict[str, Any] = {"type": "string"}
    if recursive:
        s0 = {"type": "object", "properties": {"back": {"$ref": top}}}
    schemas = {"s0": s0}
    for i in range(1, levels + 1):
        ref = {"$ref": f"#/components/schemas/s{i - 1}"}
        schemas[f"s{i}"] = {"type": "object", "properties": {f"p{j}": ref for j in range(10)}}
    body = {"content": {"application/json": {"schema": {"$ref": top}}}}
    return document(
        {"/x": {"post": operation("op", requestBody=body)}}, components={"schemas": schemas}
    )


def test_yaml_alias_bomb_is_refused_before_it_is_expanded() -> None:
    text = _alias_bomb(8)
    assert len(text) < 2_000
    with pytest.raises(SpecError) as caught:
        load_spec(text, source="openapi.yaml")
    finding = only(caught.value.findings, "PS301")
    assert finding.severity is Severity.ERROR
    assert "alias" in finding.message
    assert f"{MAX_ALIAS_EXPANSION:,}" in finding.message
    assert "$ref" in finding.fix


def test_recursive_yaml_alias_is_refused() -> None:
    text = (
        "openapi: 3.0.1\ninfo: {title: t, version: '1'}\nx-loop: &loop {self: *loop}\npaths: {}\n"
    )
    with pytest.raises(SpecError) as caught:
        load_spec(text, source="openapi.yaml")
    assert "refers to a node that contains it" in only(caught.value.findings, "PS301").message


def test_a_few_yaml_aliases_still_load() -> None:
    text = _alias_bomb(2)  # 100 strings: ordinary reuse
    spec = load_spec(text, source="openapi.yaml")
    assert spec.findings == ()
    assert spec.document["x-defs"]["a2"]["properties"]["p9"]["properties"]["p0"]["type"] == "string"


def test_ref_fan_out_is_cut_with_a_warning_and_the_tool_still_converts() -> None:
    doc = _ref_fan_out(8)
    assert len(json.dumps(doc)) < 5_000
    tools = toolset(doc)
    (tool,) = tools.tools
    assert len(json.dumps(tool.parameters)) < MAX_TOOL_JSON_CHARS
    assert json.dumps(CUT_SCHEMA) in json.dumps(tool.parameters)
    assert sorted(tool.parameters["properties"]) == [f"p{j}" for j in range(10)]
    Draft202012Validator.check_schema(tool.parameters)
    finding = only(tools.findings, "PS326")
    assert finding.severity is Severity.WARNING
    assert finding.location == "spec.paths['/x'].post"
    assert f"{MAX_SCHEMA_NODES:,}" in finding.message


def test_recursive_ref_fan_out_is_cut_while_cleaning() -> None:
    # Results cut at a cycle are not memoised, so this walked 10**levels schemas before.
    tools = toolset(_ref_fan_out(8, recursive=True))
    (tool,) = tools.tools
    assert len(json.dumps(tool.parameters)) < MAX_TOOL_JSON_CHARS
    assert "PS326" in codes(tools.findings)
    assert "PS309" in codes(tools.findings)


def test_small_fan_out_is_left_alone() -> None:
    tools = toolset(_ref_fan_out(2))
    assert "PS326" not in codes(tools.findings)
    leaf = tools.tools[0].parameters["properties"]["p3"]["properties"]["p7"]
    assert leaf == {"type": "string"}


def test_fit_schema_keeps_what_fits_and_cuts_the_deepest_level() -> None:
    leaf = {"type": "string"}
    inner = {"type": "object", "properties": {f"q{j}": leaf for j in range(10)}}
    middle = {"type": "object", "properties": {f"p{j}": inner for j in range(10)}}
    schema = {"type": "object", "properties": {"a": middle, "b": leaf}}
    assert fit_schema(schema, budget=1_000).schema is schema
    fitted = fit_schema(schema, budget=100)
    assert fitted.cut_depth == 2
    assert fitted.schema["properties"]["b"] == leaf
    assert fitted.schema["properties"]["a"]["properties"]["p0"] == CUT_SCHEMA
    assert middle["properties"]["p0"] is inner  # the input is not mutated
    assert fit_schema(schema, budget=5).schema == CUT_SCHEMA
