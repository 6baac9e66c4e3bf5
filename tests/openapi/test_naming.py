"""Function names: NAMEFORMODEL__OPERATION, ≤ 64 chars, unique, mapped back."""

from __future__ import annotations

import re

import pytest

from powerstrip.errors import PowerstripError
from powerstrip.findings import Severity
from powerstrip.openapi import UnknownFunctionError, namespaces_clash
from powerstrip.openapi.naming import FunctionNamer, derive_operation_name, sanitise

from .builders import codes, document, only, operation, toolset

VALID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def test_name_is_namespace_and_operation_id() -> None:
    ts = toolset(document(), namespace="todo")
    assert [t.function_name for t in ts.tools] == ["todo__getTodos"]
    assert ts.lookup("todo__getTodos").operation_id == "getTodos"


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("get", "/todos/{username}", "get_todos_by_username"),
        ("post", "/todos", "post_todos"),
        ("delete", "/", "delete"),
        ("get", "/v1/items/{item-id}/tags.json", "get_v1_items_by_item-id_tags_json"),
    ],
)
def test_missing_operation_id_is_derived(method: str, path: str, expected: str) -> None:
    assert derive_operation_name(method, path) == expected


def test_missing_operation_id_is_a_warning() -> None:
    ts = toolset(document({"/todos/{username}": {"get": operation(None)}}))
    assert ts.tools[0].function_name == "todo__get_todos_by_username"
    finding = only(ts.findings, "PS311")
    assert finding.location == "spec.paths['/todos/{username}'].get"
    assert "get_todos_by_username" in finding.message


def test_operation_id_is_sanitised() -> None:
    assert sanitise("get todos/by.id!") == "get_todos_by_id"
    ts = toolset(document({"/t": {"get": operation("list todos (all)")}}))
    assert ts.tools[0].function_name == "todo__list_todos_all"
    assert ts.tools[0].operation_id == "list todos (all)"


def test_long_names_get_a_hash_suffix_and_an_info() -> None:
    long_id = "getEverySingleTodoThatTheUserHasEverWrittenDownIncludingArchivedOnes"
    ts = toolset(document({"/t": {"get": operation(long_id)}}), namespace="my_todo_plugin")
    name = ts.tools[0].function_name
    assert len(name) == 64
    assert VALID.match(name)
    assert re.search(r"_[0-9a-f]{8}$", name)
    assert name.startswith("my_todo_plugin__getEverySingle")
    finding = only(ts.findings, "PS318")
    assert finding.severity is Severity.INFO
    assert name in finding.message


def test_long_names_sharing_a_prefix_stay_distinct() -> None:
    prefix = "x" * 70
    namer = FunctionNamer("ns")
    names = {namer.name(prefix + str(i))[0] for i in range(50)}
    assert len(names) == 50
    assert all(VALID.match(n) for n in names)


def test_duplicate_operation_ids_are_an_error_and_get_a_suffix() -> None:
    doc = document({"/a": {"get": operation("list")}, "/b": {"get": operation("list")}})
    ts = toolset(doc)
    assert [t.function_name for t in ts.tools] == ["todo__list", "todo__list_2"]
    finding = only(ts.findings, "PS312")
    assert finding.severity is Severity.ERROR
    assert finding.location == "spec.paths['/b'].get.operationId"
    assert "spec.paths['/a'].get" in finding.message
    assert ts.lookup("todo__list_2").path == "/b"


def test_ids_that_clash_only_after_sanitising_stay_unique() -> None:
    doc = document({"/a": {"get": operation("get a")}, "/b": {"get": operation("get/a")}})
    ts = toolset(doc)
    assert len({t.function_name for t in ts.tools}) == 2
    assert "PS312" not in codes(ts.findings)


def test_namespace_is_sanitised() -> None:
    assert toolset(document(), namespace="my plugin!").namespace == "my_plugin"
    assert toolset(document(), namespace="").tools[0].function_name == "plugin__getTodos"


def test_lookup_of_an_unknown_name_raises_a_powerstrip_key_error() -> None:
    ts = toolset(document())
    with pytest.raises(UnknownFunctionError) as caught:
        ts.lookup("todo__nope")
    assert isinstance(caught.value, PowerstripError)
    assert isinstance(caught.value, KeyError)
    assert "todo__nope" in str(caught.value)
    assert "todo__getTodos" in ts
    assert "todo__nope" not in ts


@pytest.mark.parametrize(
    ("first", "second", "clash"),
    [
        ("todo", "todo", True),
        ("todo", "TODO", True),
        ("todo", "todo!", True),  # sanitised to the same namespace
        ("todo", "todo__extra", True),  # todo__extra__op is also todo's extra__op
        ("todo", "todo_list", False),
        ("todo", "weather", False),
    ],
)
def test_namespaces_clash(first: str, second: str, clash: bool) -> None:
    assert namespaces_clash(first, second) is clash
    assert namespaces_clash(second, first) is clash
