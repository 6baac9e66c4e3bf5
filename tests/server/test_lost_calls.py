"""A call that may have been sent is never sent again (issue 18).

A worker that dies while a call runs leaves the call without an answer: to the history it looks
like a paused turn. Only a call still waiting for a person's approval was certainly never sent
(a turn pauses before it makes any call of its message); any other unanswered call may have
reached the plugin. Here the store is left as such a crash leaves it (the messages a turn writes
before its call, with no answer), and the approval endpoint, asked to run the call, must not.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.host import find_user
from powerstrip.host.recorder import StoreRecorder
from powerstrip.runtime import ChatMessage, ToolCall
from powerstrip.store import Approval, create_engine, session_factory, transaction
from powerstrip.testing import Reply
from tests.server.conftest import Hosted, sse_events

pytestmark = pytest.mark.anyio

PLUGIN = "plugin.example.com"


@asynccontextmanager
async def _store(hosted: Hosted) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(hosted.settings.database_url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


async def _setup(hosted: Hosted, api: httpx.AsyncClient) -> tuple[str, str]:
    plugin_id = await hosted.add_plugin(api, PLUGIN)
    assert (await api.post(f"/api/plugins/{plugin_id}/install")).status_code == 200
    ops = (await api.get(f"/api/plugins/{plugin_id}/operations")).json()["operations"]
    [add] = [op["function_name"] for op in ops if op["operation_id"] == "add_todo"]
    chat = await api.post("/api/conversations", json={"plugin_ids": [plugin_id]})
    return str(chat.json()["id"]), add


async def _left_by_a_crash(
    hosted: Hosted, chat_id: str, call: ToolCall, *, approval: str | None
) -> None:
    """What a turn had written when its worker died during `call`: the user's message, the
    model's call, and (`approval`) the call's approval as the claim left it."""
    async with _store(hosted) as sessions:
        ada = await find_user(sessions, "ada")
        recorder = StoreRecorder(sessions, chat_id, ada.id)
        await recorder.add_message(ChatMessage("user", "add milk"))
        await recorder.add_message(ChatMessage("assistant", None, tool_calls=(call,)))
        if approval is not None:
            await recorder.approval_requested("1", call)
            async with transaction(sessions) as session:
                await session.execute(update(Approval).values(status=approval))


async def _approve(api: httpx.AsyncClient, chat_id: str, call_id: str) -> httpx.Response:
    return await api.post(
        f"/api/conversations/{chat_id}/approvals", json={"decisions": {call_id: True}}
    )


async def test_a_call_made_without_asking_and_lost_is_closed_not_made_again(
    hosted: Hosted,
) -> None:
    async with await hosted.user("ada") as api:
        chat_id, add = await _setup(hosted, api)
        lost = ToolCall("lost-1", add, json.dumps({"username": "ada", "todo": "milk"}))
        # Made without a question (an "always allow", say), then the worker died.
        await _left_by_a_crash(hosted, chat_id, lost, approval=None)
        view = (await api.get(f"/api/conversations/{chat_id}")).json()
        assert view["pending_approvals"] == []  # never offered as a question
        answer = await _approve(api, chat_id, "lost-1")
        assert answer.status_code == 200, answer.text
        events = sse_events(answer.text)
        assert [e["type"] for e in events] == ["error", "turn_done"]
        assert "may or may not have been made" in events[0]["message"]
        assert hosted.recorders[PLUGIN].api_calls() == []  # not made (again)
        view = (await api.get(f"/api/conversations/{chat_id}")).json()
        [closed] = [m for m in view["messages"] if m.get("tool_call_id") == "lost-1"]
        assert "may or may not have been made" in closed["content"]
        assert (await _approve(api, chat_id, "lost-1")).status_code == 200  # nothing left to run
        hosted.model.push(Reply("Did it go through? Let me check."))
        later = await api.post(
            f"/api/conversations/{chat_id}/messages", json={"content": "well?", "stream": False}
        )
        assert later.json()["text"] == "Did it go through? Let me check."
    assert hosted.recorders[PLUGIN].api_calls() == []


async def test_an_approved_call_lost_mid_way_is_refused_a_second_approval(
    hosted: Hosted,
) -> None:
    async with await hosted.user("ada") as api:
        chat_id, add = await _setup(hosted, api)
        lost = ToolCall("lost-2", add, json.dumps({"username": "ada", "todo": "milk"}))
        await _left_by_a_crash(hosted, chat_id, lost, approval="approved")
        view = (await api.get(f"/api/conversations/{chat_id}")).json()
        assert view["pending_approvals"] == []
        answer = await _approve(api, chat_id, "lost-2")
        assert "already decided" in answer.text
        hosted.model.push(Reply("Checking."))
        later = await api.post(
            f"/api/conversations/{chat_id}/messages", json={"content": "well?", "stream": False}
        )
        assert later.json()["text"] == "Checking."
        view = (await api.get(f"/api/conversations/{chat_id}")).json()
        [closed] = [m for m in view["messages"] if m.get("tool_call_id") == "lost-2"]
        assert "may or may not have been made" in closed["content"]
    assert hosted.recorders[PLUGIN].api_calls() == []


async def test_a_call_waiting_for_its_approval_is_made_once_when_approved(hosted: Hosted) -> None:
    async with await hosted.user("ada") as api:
        chat_id, add = await _setup(hosted, api)
        asked = ToolCall("asked-1", add, json.dumps({"username": "ada", "todo": "milk"}))
        await _left_by_a_crash(hosted, chat_id, asked, approval="pending")
        view = (await api.get(f"/api/conversations/{chat_id}")).json()
        assert [p["call_id"] for p in view["pending_approvals"]] == ["asked-1"]
        hosted.model.push(Reply("Added."))
        answer = await _approve(api, chat_id, "asked-1")
        assert sse_events(answer.text)[-1]["text"] == "Added."
    assert [(r.method, r.path) for r in hosted.recorders[PLUGIN].api_calls()] == [
        ("POST", "/todos/ada")
    ]
