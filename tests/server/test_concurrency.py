"""Many turns at once, through the REST API of a real server, on SQLite and PostgreSQL.

Sixteen conversations (of one user, then of four) run turns side by side against a real
loopback plugin, their first turns all pausing and answered with "always allow" at the same
moment (the grant race of issue 21). No turn may fail, every plugin call is made and recorded
exactly once, and every conversation answers again afterwards.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from powerstrip.testing import CallTool, Reply, Respond, ScriptStep
from tests.server.conftest import Hosted

pytestmark = pytest.mark.anyio

_CONVERSATIONS = 16
_ROUNDS = 2  # turns per conversation under load, before the one that shows it still answers
_TODO_HOST = "plugin.example.com"


def _model_steps(function_name: str, count: int) -> list[ScriptStep]:
    """Each user message asks for one list call; each tool result is answered in text."""

    def choose(body: dict[str, Any]) -> ScriptStep:
        last = body["messages"][-1]
        if last["role"] == "tool":
            return Reply("Listed.")
        return CallTool(function_name, {"username": str(last["content"]).split()[-1]})

    return [Respond(choose) for _ in range(count)]


async def _post(api: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await api.post(path, json=body | {"stream": False})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def _send(api: httpx.AsyncClient, chat_id: str, text: str) -> dict[str, Any]:
    return await _post(api, f"/api/conversations/{chat_id}/messages", {"content": text})


async def _approve_always(api: httpx.AsyncClient, chat_id: str, paused: dict[str, Any]) -> Any:
    ids = [e["approval_id"] for e in paused["events"] if e["type"] == "approval_needed"]
    assert ids, paused
    return await _post(
        api,
        f"/api/conversations/{chat_id}/approvals",
        {"decisions": dict.fromkeys(ids, True), "always_allow": ids},
    )


async def _turn(api: httpx.AsyncClient, chat_id: str, username: str) -> list[dict[str, Any]]:
    """One message, approved with "always allow" when it pauses; every event of the turn."""
    first = await _send(api, chat_id, f"list the todos of {username}")
    events = list(first["events"])
    if first["paused"]:
        events += (await _approve_always(api, chat_id, first))["events"]
    return events


async def _run_load(hosted: Hosted, usernames: list[str]) -> None:
    """`_CONVERSATIONS` conversations shared among `usernames`, all turning at once."""
    users = [await hosted.user(name) for name in usernames]
    try:
        plugin_id = await hosted.add_plugin(users[0], _TODO_HOST)
        for api in users:
            assert (await api.post(f"/api/plugins/{plugin_id}/install")).status_code == 200
        operations = (await users[0].get(f"/api/plugins/{plugin_id}/operations")).json()
        [list_todos] = [
            op["function_name"]
            for op in operations["operations"]
            if op["operation_id"] == "list_todos"
        ]
        turns = _CONVERSATIONS * (_ROUNDS + 2)
        hosted.model.push(*_model_steps(list_todos, 2 * turns))
        chats: list[tuple[httpx.AsyncClient, str, str]] = []
        for index in range(_CONVERSATIONS):
            api, name = users[index % len(users)], usernames[index % len(users)]
            answer = await api.post("/api/conversations", json={"plugin_ids": [plugin_id]})
            assert answer.status_code == 201, answer.text
            chats.append((api, str(answer.json()["id"]), name))

        # Round one: every first turn pauses, then all are approved with "always allow" at once.
        paused = await asyncio.gather(*(_send(api, cid, f"list {n}") for api, cid, n in chats))
        assert all(body["paused"] for body in paused), paused
        approved = await asyncio.gather(
            *(
                _approve_always(api, cid, body)
                for (api, cid, _), body in zip(chats, paused, strict=True)
            )
        )
        results = [
            list(first["events"]) + list(then["events"])
            for first, then in zip(paused, approved, strict=True)
        ]
        for _ in range(_ROUNDS):
            results += await asyncio.gather(*(_turn(api, cid, n) for api, cid, n in chats))

        errors = [e for events in results for e in events if e["type"] == "error"]
        assert errors == [], f"{len(errors)} turns failed: {errors[:3]}"
        texts = [e["text"] for events in results for e in events if e["type"] == "turn_done"]
        assert texts.count("Listed.") == _CONVERSATIONS * (_ROUNDS + 1)

        # Every call made exactly once, and recorded exactly once, in its own conversation.
        received = hosted.recorders[_TODO_HOST].api_calls()
        assert len(received) == _CONVERSATIONS * (_ROUNDS + 1)
        for api, chat_id, _ in chats:
            calls = (await api.get(f"/api/conversations/{chat_id}/calls")).json()["calls"]
            assert [c["outcome"] for c in calls] == ["ok"] * (_ROUNDS + 1)
        grants = [(await api.get("/api/grants")).json()["grants"] for api in users]
        assert [len(g) for g in grants] == [1] * len(users)

        # Afterwards every conversation still answers, without asking again.
        last = await asyncio.gather(*(_turn(api, cid, n) for api, cid, n in chats))
        assert all(events[-1]["text"] == "Listed." for events in last), last
    finally:
        for api in users:
            await api.aclose()


async def test_sixteen_conversations_of_one_user_turn_at_once(hosted: Hosted) -> None:
    await _run_load(hosted, ["ada"])


async def test_sixteen_conversations_of_four_users_turn_at_once(hosted: Hosted) -> None:
    await _run_load(hosted, ["ada", "bob", "cy", "dee"])
