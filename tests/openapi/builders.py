"""Small OpenAPI documents for tests, built inline so each test shows what it feeds in."""

from __future__ import annotations

import copy
import json
from typing import Any

from powerstrip.findings import Finding
from powerstrip.openapi import LoadedSpec, ToolSet, convert, load_spec

OK = {"200": {"description": "OK"}}


def operation(operation_id: str | None = "getTodos", **fields: Any) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": "List the todos", "responses": copy.deepcopy(OK)}
    if operation_id is not None:
        op["operationId"] = operation_id
    op.update(fields)
    return op


def document(paths: Any = None, **top: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "openapi": "3.0.1",
        "info": {"title": "Todo API", "version": "1", "description": "Manage todos."},
        "servers": [{"url": "https://api.example.com"}],
        "paths": {"/todos": {"get": operation()}} if paths is None else paths,
    }
    doc.update(top)
    return doc


def load(doc: dict[str, Any]) -> LoadedSpec:
    return load_spec(json.dumps(doc), source="openapi.json")


def toolset(doc: dict[str, Any], namespace: str = "todo") -> ToolSet:
    return convert(load(doc), namespace=namespace)


def codes(findings: tuple[Finding, ...] | list[Finding]) -> list[str]:
    return [f.code for f in findings]


def only(findings: tuple[Finding, ...] | list[Finding], code: str) -> Finding:
    matches = [f for f in findings if f.code == code]
    assert len(matches) == 1, [str(f) for f in findings]
    return matches[0]
