"""Faults on the plugin's side and the model's: each ends the turn with a clear event, leaves a
call row, and the server keeps serving."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from powerstrip.host import Host, find_user
from powerstrip.host.open_calls import TURN_ENDED
from powerstrip.runtime import CallStarted
from powerstrip.testing import BreakStream, CallTool, LoopbackServer, Reply, TestCA
from tests.runtime import fault_plugin
from tests.server import fault_site
from tests.server.conftest import Hosted
from tests.tool_results import unwrap

pytestmark = pytest.mark.anyio


@pytest.fixture
def fault_server(test_ca: TestCA) -> Iterator[LoopbackServer]:
    fault_plugin.ATTEMPTS.clear()
    # The slow fault's handler outlives the host's timeout: stop() lets it finish, since a
    # cancelled one leaves its connection to be closed by the garbage collector, with a warning.
    server = LoopbackServer(
        fault_site.app,
        ssl_context=test_ca.server_context(fault_site.NAME),
        graceful_seconds=6,
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def extra_sites(fault_server: LoopbackServer) -> dict[str, LoopbackServer]:
    return {fault_site.NAME: fault_server}


async def _setup(hosted: Hosted, api: httpx.AsyncClient) -> str:
    answer = await api.post("/api/plugins", json={"url": f"https://{fault_site.NAME}"})
    assert answer.status_code == 201, answer.text
    plugin_id = answer.json()["id"]
    assert (await api.post(f"/api/plugins/{plugin_id}/install")).status_code == 200
    chat = await api.post("/api/conversations", json={"plugin_ids": [plugin_id]})
    return str(chat.json()["id"])


async def _turn(api: httpx.AsyncClient, chat_id: str, text: str) -> dict[str, Any]:
    answer = await api.post(
        f"/api/conversations/{chat_id}/messages", json={"content": text, "stream": False}
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.mark.parametrize(
    ("kind", "outcome", "status", "truncated"),
    [
        ("error500", "http_error", 500, False),
        ("ratelimited-once", "ok", 200, False),
        ("slow", "timeout", None, False),
        ("big", "ok", 200, True),
        ("garbage", "ok", 200, False),
    ],
)
async def test_a_plugin_fault_ends_in_an_event_and_a_call_row(
    hosted: Hosted, kind: str, outcome: str, status: int | None, truncated: bool
) -> None:
    async with await hosted.user("ada") as api:
        chat_id = await _setup(hosted, api)
        hosted.model.push(CallTool("faults__fault", {"kind": kind}), Reply("Done."))
        body = await _turn(api, chat_id, f"try {kind}")
        [finished] = [e for e in body["events"] if e["type"] == "call_finished"]
        assert (finished["outcome"], finished["status_code"]) == (outcome, status)
        assert body["text"] == "Done."
        [call] = (await api.get(f"/api/conversations/{chat_id}/calls")).json()["calls"]
        assert (call["outcome"], call["status_code"], call["truncated"]) == (
            outcome,
            status,
            truncated,
        )
        if kind == "ratelimited-once":
            assert call["attempts"] == 2  # retried after Retry-After
        if outcome != "ok":
            assert call["error"]
        # What the model read back is bounded, whatever the plugin sent.
        tool_message = hosted.model.requests[-1]["messages"][-1]
        assert tool_message["role"] == "tool"
        assert len(unwrap(tool_message["content"])) <= 100_000
        assert (await api.get("/healthz")).status_code == 200


async def test_a_plugin_that_is_down_ends_in_a_network_error(
    hosted: Hosted, fault_server: LoopbackServer
) -> None:
    async with await hosted.user("ada") as api:
        chat_id = await _setup(hosted, api)
        fault_server.stop()
        hosted.model.push(CallTool("faults__fault", {"kind": "any"}), Reply("It is down."))
        body = await _turn(api, chat_id, "try it")
        [finished] = [e for e in body["events"] if e["type"] == "call_finished"]
        assert finished["outcome"] == "network_error"
        assert body["text"] == "It is down."
        [call] = (await api.get(f"/api/conversations/{chat_id}/calls")).json()["calls"]
        assert call["outcome"] == "network_error"


async def test_the_model_failing_mid_stream_ends_the_turn_and_the_next_one_works(
    hosted: Hosted,
) -> None:
    async with await hosted.user("ada") as api:
        chat_id = await _setup(hosted, api)
        hosted.model.push(BreakStream(after_chunks=1, reply=Reply("a long answer " * 20)))
        body = await _turn(api, chat_id, "hello")
        kinds = [e["type"] for e in body["events"]]
        assert "error" in kinds
        assert kinds[-1] == "turn_done"
        [error] = [e for e in body["events"] if e["type"] == "error"]
        assert "the model failed" in error["message"]
        # The history says the turn ended without the model's answer (what a client reading
        # it sees, and the model next): nothing of the broken stream is kept.
        view = (await api.get(f"/api/conversations/{chat_id}")).json()
        assert [m["role"] for m in view["messages"]][-2:] == ["user", "assistant"]
        assert view["messages"][-1]["content"] == TURN_ENDED["failed"]
        hosted.model.push(Reply("Back again."))
        assert (await _turn(api, chat_id, "hello again"))["text"] == "Back again."


async def test_a_client_that_leaves_mid_call_does_not_leave_the_conversation_stuck(
    hosted: Hosted,
) -> None:
    async with await hosted.user("ada") as api:
        chat_id = await _setup(hosted, api)
        hosted.model.push(CallTool("faults__fault", {"kind": "any"}, id="s1"))
        host = await Host.start(hosted.settings, migrate=False)
        try:
            ada = await find_user(host.sessions, "ada")
            turn = host.chats.send(ada, chat_id, "go")
            async for event in turn:
                if isinstance(event, CallStarted):
                    break  # the user closes the tab while the plugin is working
            await turn.aclose()  # type: ignore[attr-defined]
        finally:
            await host.aclose()
        view = (await api.get(f"/api/conversations/{chat_id}")).json()
        answer, last = view["messages"][-2:]
        assert (answer["role"], answer["tool_call_id"]) == ("tool", "s1")
        assert "interrupted" in answer["content"]
        # The model never answered the call's result: the turn ends saying so.
        assert (last["role"], last["content"]) == ("assistant", TURN_ENDED["interrupted"])
        assert view["pending_approvals"] == []
        hosted.model.push(Reply("Back."))
        assert (await _turn(api, chat_id, "hello?"))["text"] == "Back."
