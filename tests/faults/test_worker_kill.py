"""A worker killed mid-turn (SIGKILL while its plugin call is open): the client's stream ends
with an error, nothing is half-written, and the lost call is closed (by the recovery sweep of
the server started again, or of another worker once the dead one's lease ran out on Redis; or
else by the conversation's next turn) and the conversation works, whether the whole server is
restarted or uvicorn's supervisor replaces the worker. A live turn of another worker is never
closed by the sweep."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from powerstrip.testing import CallTool, Reply, ScriptedModelServer
from tests.faults.serve_process import ServeProcess, add_stall_plugin, make_vault_keys, sse_stream
from tests.faults.stall_site import FUNCTION, StallSite
from tests.faults.store_view import conversation_state
from tests.redis_servers import redis_only, redis_url

pytestmark = [pytest.mark.network, pytest.mark.timeout(900)]


@pytest.fixture
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as scripted:
        yield scripted


@pytest.fixture
def stall() -> Iterator[StallSite]:
    with StallSite() as site:
        yield site


def _stream_until_cut(served: ServeProcess, chat_id: str) -> tuple[threading.Thread, list[Any]]:
    got: list[Any] = []

    def run() -> None:
        try:
            with served.client(timeout=120) as client:
                path = f"/api/conversations/{chat_id}/messages"
                got.extend(sse_stream(client, path, {"content": "wait for it"}))
        except httpx.TransportError as exc:
            got.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, got


def _next_turn_works(served: ServeProcess, model: ScriptedModelServer, chat_id: str) -> None:
    model.push(Reply("Back again."))
    with served.client() as client:
        answer = client.post(
            f"/api/conversations/{chat_id}/messages", json={"content": "hello?", "stream": False}
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["text"] == "Back again."


def _check_lost_call(where: Path, chat_id: str, before: list[str]) -> None:
    """After the next turn: the lost call is answered once, nothing else is open or doubled."""
    state = conversation_state(where, chat_id)
    assert before == ["call_lost"]  # what the kill left: the call open, nothing half-written
    assert state.open_calls == []
    assert state.seqs == list(range(1, len(state.seqs) + 1))
    answers = [m for m in state.messages if m.tool_call_id == "call_lost"]
    assert len(answers) == 1
    assert "may or may not have been made" in (answers[0].content or "")
    assert state.call_ids == []  # the kill came before the call's row: none is invented
    assert [m.role for m in state.messages][-2:] == ["user", "assistant"]


def test_a_server_killed_mid_turn_leaves_a_conversation_the_next_turn_continues(
    tmp_path: Path, model: ScriptedModelServer, stall: StallSite
) -> None:
    keys = make_vault_keys()
    with ServeProcess(tmp_path, model_url=model.base_url, vault_keys=keys) as served:
        served.wait_ready()
        with served.client() as client:
            chat_id = add_stall_plugin(client, stall.url)
        model.push(CallTool(FUNCTION, {}, id="call_lost"))
        thread, got = _stream_until_cut(served, chat_id)
        assert stall.arrived.wait(60)
        served.kill()
        thread.join(30)
        served.finish()
    assert isinstance(got[-1], httpx.TransportError), got  # the stream broke off
    assert [e["type"] for e in got[:-1]][-1] == "call_started"
    state = conversation_state(tmp_path, chat_id)
    assert state.seqs == list(range(1, len(state.seqs) + 1))
    before = state.open_calls
    with ServeProcess(tmp_path, model_url=model.base_url, vault_keys=keys) as again:
        again.wait_ready()
        # Closed as the server started (the sole process: no turn of it can be running), and
        # what a client reading the conversation sees says why, before any next message.
        with again.client() as client:
            view = client.get(f"/api/conversations/{chat_id}").json()
        assert view["pending_approvals"] == []
        [closed] = [m for m in view["messages"] if m.get("tool_call_id") == "call_lost"]
        assert "server running this turn stopped" in closed["content"]
        _next_turn_works(again, model, chat_id)
    _check_lost_call(tmp_path, chat_id, before)


def test_a_worker_killed_mid_turn_is_replaced_and_the_conversation_goes_on(
    tmp_path: Path, model: ScriptedModelServer, stall: StallSite
) -> None:
    keys = make_vault_keys()
    with ServeProcess(tmp_path, model_url=model.base_url, vault_keys=keys, workers=2) as served:
        served.wait_ready()
        with served.client() as client:
            chat_id = add_stall_plugin(client, stall.url)
        model.push(CallTool(FUNCTION, {}, id="call_lost"))
        thread, got = _stream_until_cut(served, chat_id)
        assert stall.arrived.wait(60)
        workers = served.worker_pids()
        assert len(workers) == 2, workers
        # Which worker holds the turn is the kernel's choice: kill both.
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        thread.join(30)
        assert isinstance(got[-1], httpx.TransportError), got
        before = conversation_state(tmp_path, chat_id).open_calls
        # The supervisor starts new workers on the same socket.
        deadline = time.monotonic() + 240
        while len(set(served.worker_pids()) - set(workers)) < 2:
            assert time.monotonic() < deadline, served.worker_pids()
            time.sleep(0.5)
        served.wait_ready()
        _next_turn_works(served, model, chat_id)
        served.terminate()
        output = served.finish()
    assert "died" in output
    _check_lost_call(tmp_path, chat_id, before)


def _until(check: Any, what: str, seconds: float = 180) -> None:
    """Poll `check()` until true; bounds a hang, measures nothing."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


@pytest.mark.parametrize("redis", redis_only())
def test_a_dead_worker_s_turn_is_closed_by_another_and_a_live_turn_is_left_alone(
    tmp_path: Path, model: ScriptedModelServer, stall: StallSite, redis: str
) -> None:
    keys = make_vault_keys()
    env = {
        "POWERSTRIP_REDIS_URL": redis_url(),
        "POWERSTRIP_JOBS_QUEUE_NAME": f"t-{uuid.uuid4().hex[:12]}",
        "POWERSTRIP_TURN_LOCK_LEASE_SECONDS": "5",
        "POWERSTRIP_TURN_RECOVERY_INTERVAL_SECONDS": "1",
    }
    serving = {"model_url": model.base_url, "vault_keys": keys, "env": env}
    # Two servers on one store and one Redis, as two machines behind a load balancer.
    with ServeProcess(tmp_path, **serving) as doomed:
        doomed.wait_ready()
        with doomed.client() as client:
            lost_chat = add_stall_plugin(client, stall.url)
            plugin_ids = client.get(f"/api/conversations/{lost_chat}").json()["plugin_ids"]
            live_chat = client.post("/api/conversations", json={"plugin_ids": plugin_ids})
            live_chat_id = str(live_chat.json()["id"])
        with ServeProcess(tmp_path, **serving) as survivor:
            survivor.wait_ready()
            model.push(CallTool(FUNCTION, {}, id="call_lost"))
            lost_thread, lost_got = _stream_until_cut(doomed, lost_chat)
            assert stall.arrived.wait(60)
            model.push(CallTool(FUNCTION, {}, id="call_live"), Reply("Waited."))
            live_thread, live_got = _stream_until_cut(survivor, live_chat_id)
            _until(lambda: stall.calls == 2, "the live turn's call never reached the plugin")
            doomed.kill()
            lost_thread.join(30)
            assert isinstance(lost_got[-1], httpx.TransportError), lost_got
            # The survivor's sweep closes the dead turn once its lease ran out; no message is
            # sent to that conversation.
            _until(
                lambda: conversation_state(tmp_path, lost_chat).open_calls == [],
                "the dead worker's turn was never closed",
            )
            # ... and leaves the live turn alone, however many sweeps ran meanwhile.
            assert conversation_state(tmp_path, live_chat_id).open_calls == ["call_live"]
            stall.release.set()
            live_thread.join(120)
            survivor.terminate()
            survivor.finish()
        doomed.finish()
    types = [e["type"] for e in live_got]
    assert types == ["call_started", "call_finished", "text_delta", "turn_done"], live_got
    assert live_got[1]["outcome"] == "ok"
    assert live_got[-1]["text"] == "Waited."
    live = conversation_state(tmp_path, live_chat_id)
    [live_answer] = [m for m in live.messages if m.tool_call_id == "call_live"]
    assert "waited" in (live_answer.content or "")  # the plugin's own answer, once
    assert len(live.call_ids) == 1
    lost = conversation_state(tmp_path, lost_chat)
    [lost_answer] = [m for m in lost.messages if m.tool_call_id == "call_lost"]
    assert "may or may not have been made" in (lost_answer.content or "")
    assert lost.seqs == list(range(1, len(lost.seqs) + 1))
    assert [m.role for m in lost.messages] == ["user", "assistant", "tool"]
    assert lost.call_ids == []
