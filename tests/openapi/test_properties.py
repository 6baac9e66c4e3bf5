"""Property tests: nothing but SpecError escapes, and converted names are always valid."""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from powerstrip.errors import SpecError
from powerstrip.openapi import (
    ToolSet,
    convert,
    iter_descriptions,
    load_spec,
    render_namespace_prompt,
)

from .builders import document, operation

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "plugins" / "specs"
VALID_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SAMPLES = ("EmailByNylas.yaml", "AIQuest.yaml", "BOXIL_SaaS.yaml")
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "openapi",
                    "paths",
                    "get",
                    "post",
                    "parameters",
                    "schema",
                    "$ref",
                    "type",
                    "properties",
                    "items",
                    "required",
                    "name",
                    "in",
                    "requestBody",
                    "content",
                    "components",
                    "schemas",
                    "operationId",
                    "servers",
                    "url",
                    "/a",
                    "/b/{id}",
                ]
            )
            | st.text(max_size=6),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)
versions = st.sampled_from(["3.0.1", "3.1.0", "3.1.3", 3.0, 3.1, "2.0", "4.0", None, "x", 3, True])
refs = st.sampled_from(
    ["#/components/schemas/Nowhere", "#", "#/", "#/paths", "other.yaml#/X", "#/components/~2", 5]
)


@cache
def _sample(name: str) -> dict[str, Any]:
    spec = load_spec((CORPUS / name).read_bytes(), source=name)
    return spec.document


def _check(toolset: ToolSet) -> None:
    names = [t.function_name for t in toolset.tools]
    assert len(set(names)) == len(names)
    for tool in toolset.tools:
        assert VALID_NAME.match(tool.function_name)
        assert toolset.lookup(tool.function_name) is tool
        json.dumps(tool.as_openai_tool(), default=str)
    render_namespace_prompt(toolset, "d")


def _run(text: str | bytes, source: str = "openapi.json") -> None:
    try:
        spec = load_spec(text, source=source)
        list(iter_descriptions(spec.document))
        toolset = convert(spec, namespace="ns")
    except SpecError as error:
        refused = error
    else:
        _check(toolset)
        return
    assert refused.findings


def _paths_of(doc: Any) -> list[list[Any]]:
    """Paths (lists of keys) to every dict/list node of a document, for mutations."""
    out: list[list[Any]] = []
    stack: list[tuple[Any, list[Any]]] = [(doc, [])]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            out.append(path)
            stack.extend((v, [*path, k]) for k, v in node.items())
        elif isinstance(node, list):
            out.append(path)
            stack.extend((v, [*path, i]) for i, v in enumerate(node))
    return out


def _get(doc: Any, path: list[Any]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


@SETTINGS
@given(json_values)
def test_random_documents_never_crash(value: Any) -> None:
    _run(json.dumps(value))


@SETTINGS
@given(st.text(max_size=200))
def test_random_text_never_crashes(text: str) -> None:
    _run(text, source="openapi.yaml")


@SETTINGS
@given(versions, json_values, json_values)
def test_random_openapi_shapes_never_crash(version: Any, paths: Any, components: Any) -> None:
    doc = {"openapi": version, "paths": paths, "components": components}
    _run(json.dumps(doc))


@SETTINGS
@given(
    st.sampled_from(SAMPLES),
    st.lists(
        st.tuples(
            st.sampled_from(["delete", "swap", "ref", "self_ref", "version"]),
            st.integers(min_value=0, max_value=10_000),
            json_values,
            refs,
            versions,
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_mutated_corpus_specs_never_crash(name: str, mutations: list[Any]) -> None:
    doc = copy.deepcopy(_sample(name))
    for kind, index, value, ref, version in mutations:
        nodes = _paths_of(doc)
        path = nodes[index % len(nodes)]
        node = _get(doc, path)
        if kind == "version":
            doc["openapi"] = version
        elif kind == "delete" and isinstance(node, dict) and node:
            del node[sorted(node, key=str)[index % len(node)]]
        elif kind == "delete" and isinstance(node, list) and node:
            del node[index % len(node)]
        elif kind == "swap" and path:
            _get(doc, path[:-1])[path[-1]] = value
        elif kind == "ref" and isinstance(node, dict):
            node["$ref"] = ref
        elif kind == "self_ref" and isinstance(node, dict) and path:
            pointer = "/".join(str(k).replace("~", "~0").replace("/", "~1") for k in path)
            node["$ref"] = "#/" + pointer
    _run(json.dumps(doc, default=str))


@SETTINGS
@given(st.lists(st.text(min_size=1, max_size=80), min_size=1, max_size=12), st.text(max_size=60))
def test_any_operation_ids_give_valid_unique_names(ids: list[str], namespace: str) -> None:
    paths = {f"/p{i}": {"get": operation(op_id)} for i, op_id in enumerate(ids)}
    try:
        toolset = convert(load_spec(json.dumps(document(paths))), namespace=namespace)
    except SpecError:  # pragma: no cover - a valid document always has operations
        raise AssertionError("a document with operations was refused") from None
    assert len(toolset.tools) == len(ids)
    _check(toolset)
