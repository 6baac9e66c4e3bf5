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

from powerstrip.host.open_calls import TURN_ENDED
from powerstrip.testing import CallTool, Delay, Reply, ScriptedModelServer
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
    # The model never answered it: the lost turn ends on its assistant's last word.
    after = state.messages[state.messages.index(answers[0]) + 1]
    assert (after.role, after.tool_calls) == ("assistant", ())
    assert after.content in TURN_ENDED.values()
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
    assert [m.role for m in lost.messages] == ["user", "assistant", "tool", "assistant"]
    assert lost.messages[-1].content == TURN_ENDED["lost"]
    assert lost.call_ids == []


def _new_chat(served: ServeProcess) -> str:
    with served.client() as client:
        chat = client.post("/api/conversations", json={})
    assert chat.status_code in (200, 201), chat.text
    return str(chat.json()["id"])


def _kill_while_the_model_answers(
    served: ServeProcess, model: ScriptedModelServer, chat_id: str
) -> list[Any]:
    """Start a turn the model takes long to answer, SIGKILL the server once the model has the
    request; the events the client got, then the error that cut its stream."""
    asked = len(model.requests)
    model.push(Delay(300, Reply("Too late.")))
    thread, got = _stream_until_cut(served, chat_id)
    _until(lambda: len(model.requests) > asked, "the model was never asked")
    served.kill()
    thread.join(30)
    return got


def _ended_as_interrupted(view: dict[str, Any]) -> None:
    """What the client reads of a turn cut while the model answered: the user's message, then
    the turn's end, nothing of the answer that never came."""
    assert [m["role"] for m in view["messages"]] == ["user", "assistant"]
    assert view["messages"][0]["content"] == "wait for it"
    assert view["messages"][1]["content"] == TURN_ENDED["lost"]
    assert view["pending_approvals"] == []


def test_a_server_killed_while_the_model_answers_ends_the_turn_as_interrupted(
    tmp_path: Path, model: ScriptedModelServer
) -> None:
    keys = make_vault_keys()
    with ServeProcess(tmp_path, model_url=model.base_url, vault_keys=keys) as served:
        served.wait_ready()
        chat_id = _new_chat(served)
        got = _kill_while_the_model_answers(served, model, chat_id)
        served.finish()
    assert isinstance(got[-1], httpx.TransportError), got  # the stream broke off
    assert all(e["type"] != "text_delta" for e in got[:-1]), got
    # Nothing half-written: the user's message alone, no answer, nothing marked yet.
    state = conversation_state(tmp_path, chat_id)
    assert [m.role for m in state.messages] == ["user"]
    with ServeProcess(tmp_path, model_url=model.base_url, vault_keys=keys) as again:
        again.wait_ready()
        # Closed as the server started (the sole process: no turn of it can be running).
        with again.client() as client:
            _ended_as_interrupted(client.get(f"/api/conversations/{chat_id}").json())
        _next_turn_works(again, model, chat_id)
        again.terminate()
        again.finish()
    state = conversation_state(tmp_path, chat_id)
    assert [m.role for m in state.messages] == ["user", "assistant", "user", "assistant"]
    assert state.seqs == [1, 2, 3, 4]


@pytest.mark.parametrize("redis", redis_only())
def test_a_turn_cut_while_the_model_answered_is_closed_by_another_worker_and_not_a_live_one(
    tmp_path: Path, model: ScriptedModelServer, redis: str
) -> None:
    keys = make_vault_keys()
    env = {
        "POWERSTRIP_REDIS_URL": redis_url(),
        "POWERSTRIP_JOBS_QUEUE_NAME": f"t-{uuid.uuid4().hex[:12]}",
        "POWERSTRIP_TURN_LOCK_LEASE_SECONDS": "5",
        "POWERSTRIP_TURN_RECOVERY_INTERVAL_SECONDS": "1",
    }
    serving = {"model_url": model.base_url, "vault_keys": keys, "env": env}
    with ServeProcess(tmp_path, **serving) as doomed:
        doomed.wait_ready()
        lost_chat = _new_chat(doomed)
        live_chat = _new_chat(doomed)
        with ServeProcess(tmp_path, **serving) as survivor:
            survivor.wait_ready()
            model.push(Delay(300, Reply("Too late.")))
            lost_thread, lost_got = _stream_until_cut(doomed, lost_chat)
            _until(lambda: len(model.requests) == 1, "the model was never asked")
            # A live turn whose model answers slowly: older than a lease many sweeps over.
            model.push(Delay(40, Reply("Waited.")))
            live_thread, live_got = _stream_until_cut(survivor, live_chat)
            _until(lambda: len(model.requests) == 2, "the live turn never asked the model")
            doomed.kill()
            lost_thread.join(30)
            assert isinstance(lost_got[-1], httpx.TransportError), lost_got
            _until(
                lambda: len(conversation_state(tmp_path, lost_chat).messages) == 2,
                "the dead worker's turn was never closed",
            )
            # ... and the live turn, its model still answering, is left alone.
            assert live_thread.is_alive()
            assert [m.role for m in conversation_state(tmp_path, live_chat).messages] == ["user"]
            with survivor.client() as client:
                _ended_as_interrupted(client.get(f"/api/conversations/{lost_chat}").json())
            live_thread.join(120)
            survivor.terminate()
            survivor.finish()
        doomed.finish()
    assert [e["type"] for e in live_got][-1] == "turn_done", live_got
    assert live_got[-1]["text"] == "Waited."
    live = conversation_state(tmp_path, live_chat)
    assert [(m.role, m.content) for m in live.messages] == [
        ("user", "wait for it"),
        ("assistant", "Waited."),
    ]


def test_without_redis_the_next_message_ends_a_turn_a_killed_worker_left_unanswered(
    tmp_path: Path, model: ScriptedModelServer
) -> None:
    """Several workers, no Redis: no sweep runs (an in-process lock cannot tell another
    worker's live turn from a dead one), so the conversation's next turn closes the dead one
    first, as it closes a lost call."""
    keys = make_vault_keys()
    with ServeProcess(tmp_path, model_url=model.base_url, vault_keys=keys, workers=2) as served:
        served.wait_ready()
        chat_id = _new_chat(served)
        asked = len(model.requests)
        model.push(Delay(300, Reply("Too late.")))
        thread, got = _stream_until_cut(served, chat_id)
        _until(lambda: len(model.requests) > asked, "the model was never asked")
        workers = served.worker_pids()
        for pid in workers:  # which worker holds the turn is the kernel's choice
            os.kill(pid, signal.SIGKILL)
        thread.join(30)
        assert isinstance(got[-1], httpx.TransportError), got
        assert [m.role for m in conversation_state(tmp_path, chat_id).messages] == ["user"]
        deadline = time.monotonic() + 240
        while len(set(served.worker_pids()) - set(workers)) < 2:
            assert time.monotonic() < deadline, served.worker_pids()
            time.sleep(0.5)
        served.wait_ready()
        _next_turn_works(served, model, chat_id)
        served.terminate()
        served.finish()
    state = conversation_state(tmp_path, chat_id)
    assert [(m.role, m.content) for m in state.messages] == [
        ("user", "wait for it"),
        ("assistant", TURN_ENDED["failed"]),
        ("user", "hello?"),
        ("assistant", "Back again."),
    ]
