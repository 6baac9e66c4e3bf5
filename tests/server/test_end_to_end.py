"""End to end on loopback: install each example plugin through the REST API, chat with the
scripted model, and check what each plugin received and what the call log holds."""

from __future__ import annotations

import json

import pytest

from powerstrip.testing import CallTool, Reply
from tests.server.conftest import Hosted, sse_events

pytestmark = pytest.mark.anyio


async def _operations(api: object, plugin_id: int) -> dict[str, str]:
    answer = await api.get(f"/api/plugins/{plugin_id}/operations")  # type: ignore[attr-defined]
    assert answer.status_code == 200, answer.text
    return {op["operation_id"]: op["function_name"] for op in answer.json()["operations"]}


async def test_todo_none_add_pauses_for_approval_then_calls_the_plugin(hosted: Hosted) -> None:
    async with await hosted.user("ada", admin=True) as api:
        plugin_id = await hosted.add_plugin(api, "plugin.example.com")
        installed = await api.post(f"/api/plugins/{plugin_id}/install")
        assert installed.status_code == 200, installed.text
        ops = await _operations(api, plugin_id)
        chat = (await api.post("/api/conversations", json={"plugin_ids": [plugin_id]})).json()
        hosted.model.push(
            CallTool(ops["add_todo"], {"username": "ada", "todo": "buy milk"}, id="call-1"),
            Reply("Added buy milk."),
        )
        first = await api.post(
            f"/api/conversations/{chat['id']}/messages", json={"content": "add buy milk"}
        )
        assert first.status_code == 200
        assert first.headers["content-type"].startswith("text/event-stream")
        events = sse_events(first.text)
        assert [e["type"] for e in events] == ["approval_needed", "turn_done"]
        assert events[0]["approval_id"] == "call-1"
        assert events[0]["can_always_allow"] is True
        assert events[-1]["paused"] is True
        assert hosted.recorders["plugin.example.com"].api_calls() == []

        second = await api.post(
            f"/api/conversations/{chat['id']}/approvals",
            json={"decisions": {"call-1": True}, "stream": False},
        )
        assert second.status_code == 200, second.text
        body = second.json()
        assert body["text"] == "Added buy milk."
        assert [e["type"] for e in body["events"]][:2] == ["call_started", "call_finished"]

    [received] = hosted.recorders["plugin.example.com"].api_calls()
    assert (received.method, received.path) == ("POST", "/todos/ada")
    assert json.loads(received.body) == {"todo": "buy milk"}
    assert received.headers["openai-conversation-id"] == chat["id"]
    assert len(received.headers["openai-ephemeral-user-id"]) == 32
    assert "authorization" not in received.headers
