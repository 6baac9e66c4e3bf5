"""Every error a plugin answers is JSON with a code and a clear message, never a trace."""

from __future__ import annotations

import pytest

from powerstrip.sdk import PluginError
from powerstrip.sdk.errors import error_body
from tests.sdk.todo_plugin import SECRET_IN_CRASH, build, client

pytestmark = pytest.mark.anyio


async def test_a_plugin_error_answers_its_status_and_message_as_json() -> None:
    async with client(build().app()) as http:
        reply = await http.delete("/todos/42")
    assert reply.status_code == 404
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == {"error": {"code": "not_found", "message": "no such todo"}}


@pytest.mark.parametrize(
    ("request_args", "field"),
    [
        ({"url": "/lists/abc/todos", "json": {"text": "x"}}, "list_id"),
        ({"url": "/lists/1/todos", "json": {"due": "2024-01-01"}}, "text"),
        ({"url": "/lists/1/todos?priority=high", "json": {"text": "x"}}, "priority"),
    ],
    ids=["path", "body", "query"],
)
async def test_invalid_arguments_answer_422_naming_the_field(
    request_args: dict[str, object], field: str
) -> None:
    async with client(build().app()) as http:
        reply = await http.post(**request_args)  # type: ignore[arg-type]
    assert reply.status_code == 422
    error = reply.json()["error"]
    assert error["code"] == "invalid_arguments"
    assert field in error["message"]
    assert any(field in detail["where"] for detail in error["details"])


async def test_a_body_that_is_not_json_answers_422() -> None:
    async with client(build().app()) as http:
        reply = await http.post(
            "/lists/1/todos", content=b"not json", headers={"content-type": "application/json"}
        )
    assert reply.status_code == 422
    assert reply.json()["error"]["code"] == "invalid_arguments"


async def test_an_unexpected_exception_answers_500_without_any_detail() -> None:
    async with client(build().app(), raise_app_exceptions=False) as http:
        reply = await http.get("/crash")
    assert reply.status_code == 500
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == {
        "error": {"code": "internal_error", "message": "the plugin failed to handle this request"}
    }
    for leak in (SECRET_IN_CRASH, "RuntimeError", "Traceback", "todo_plugin.py"):
        assert leak not in reply.text


async def test_an_unknown_path_answers_404_json() -> None:
    async with client(build().app()) as http:
        reply = await http.get("/nowhere")
    assert reply.status_code == 404
    assert reply.json()["error"]["code"] == "not_found"


async def test_a_wrong_method_answers_405_json() -> None:
    async with client(build().app()) as http:
        reply = await http.put("/todos")
    assert reply.status_code == 405
    assert reply.json()["error"]["code"] == "method_not_allowed"


def test_plugin_error_derives_its_code_from_the_status() -> None:
    assert PluginError(409, "already there").code == "conflict"
    assert PluginError(418, "teapot").code == "error"
    assert PluginError(409, "already there", code="duplicate_todo").code == "duplicate_todo"


async def test_a_plugin_error_keeps_its_own_code_and_headers() -> None:
    plugin = build()

    @plugin.get("/busy")
    def busy() -> str:
        """Always busy."""
        raise PluginError(503, "come back later", code="busy", headers={"Retry-After": "7"})

    async with client(plugin.app()) as http:
        reply = await http.get("/busy")
    assert reply.status_code == 503
    assert reply.headers["retry-after"] == "7"
    assert reply.json() == {"error": {"code": "busy", "message": "come back later"}}


def test_error_body_is_the_one_error_shape() -> None:
    assert error_body("not_found", "gone", where="todo 3") == {
        "error": {"code": "not_found", "message": "gone", "where": "todo 3"}
    }
