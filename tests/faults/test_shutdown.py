"""Graceful shutdown of a real `powerstrip serve`: SIGTERM lets a turn in flight finish within the
grace period, and ends one that outlives it as interrupted, with a last event saying why."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from powerstrip.host.open_calls import TURN_ENDED
from powerstrip.testing import CallTool, Delay, Reply, ScriptedModelServer
from tests.faults.serve_process import ServeProcess, add_stall_plugin, make_vault_keys, sse_stream
from tests.faults.stall_site import FUNCTION, StallSite
from tests.faults.store_view import conversation_state

pytestmark = [pytest.mark.network, pytest.mark.timeout(600)]


@pytest.fixture
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as scripted:
        yield scripted


@pytest.fixture
def stall() -> Iterator[StallSite]:
    with StallSite() as site:
        yield site


def _turn_in_background(served: ServeProcess, chat_id: str) -> tuple[threading.Thread, list[Any]]:
    """Stream a turn in a thread; the list gets each event, then the error that ended it."""
    got: list[Any] = []

    def run() -> None:
        try:
            with served.client() as client:
                path = f"/api/conversations/{chat_id}/messages"
                got.extend(sse_stream(client, path, {"content": "wait for it"}))
        except Exception as exc:  # the test looks at whatever ended the stream
            got.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, got


def test_a_turn_in_flight_finishes_within_the_grace_period(
    tmp_path: Path, model: ScriptedModelServer, stall: StallSite
) -> None:
    keys = make_vault_keys()
    env = {"POWERSTRIP_SHUTDOWN_GRACE_SECONDS": "60"}
    with ServeProcess(tmp_path, model_url=model.base_url, vault_keys=keys, env=env) as served:
        served.wait_ready()
        with served.client() as client:
            chat_id = add_stall_plugin(client, stall.url)
        model.push(CallTool(FUNCTION, {}), Reply("It answered."))
        thread, got = _turn_in_background(served, chat_id)
        assert stall.arrived.wait(60), (got, served.kill(), served.finish())
        served.terminate()
        # The server stops taking connections at once, and waits for the turn.
        threading.Timer(1.0, stall.release.set).start()
        thread.join(90)
        output = served.finish()
    assert served.process is not None
    assert served.process.returncode == 0, output
    kinds = [event["type"] for event in got]
    assert kinds[-1] == "turn_done", got
    assert got[-1]["text"] == "It answered."
    [finished] = [event for event in got if event["type"] == "call_finished"]
    assert finished["outcome"] == "ok"
    assert "error" not in kinds
    assert "server.draining turns=1" in output


def test_a_turn_that_outlives_the_grace_period_ends_interrupted_and_nothing_is_lost(
    tmp_path: Path, model: ScriptedModelServer, stall: StallSite
) -> None:
    keys = make_vault_keys()
    env = {"POWERSTRIP_SHUTDOWN_GRACE_SECONDS": "1"}
    with ServeProcess(tmp_path, model_url=model.base_url, vault_keys=keys, env=env) as served:
        served.wait_ready()
        with served.client() as client:
            chat_id = add_stall_plugin(client, stall.url)
        model.push(CallTool(FUNCTION, {}, id="call_stalled"))
        thread, got = _turn_in_background(served, chat_id)
        assert stall.arrived.wait(60), (got, served.kill(), served.finish())
        served.terminate()
        thread.join(90)
        output = served.finish()
    assert served.process is not None
    assert served.process.returncode == 0, output
    kinds = [event["type"] for event in got]
    # The client saw the call start, then a clear last word, and a stream that ended properly.
    assert kinds[-2:] == ["error", "turn_done"], got
    assert "the server is shutting down" in got[-2]["message"]
    assert "call_started" in kinds
    # In the store: the call is answered as interrupted, nothing waits, nothing is doubled.
    state = conversation_state(tmp_path, chat_id)
    assert state.open_calls == []
    assert state.seqs == list(range(1, len(state.seqs) + 1))
    answer, last = state.messages[-2:]
    assert (answer.role, answer.tool_call_id) == ("tool", "call_stalled")
    assert "interrupted" in (answer.content or "")
    assert (last.role, last.content) == ("assistant", TURN_ENDED["interrupted"])


def test_a_turn_whose_model_outlives_the_grace_period_ends_interrupted(
    tmp_path: Path, model: ScriptedModelServer
) -> None:
    keys = make_vault_keys()
    env = {"POWERSTRIP_SHUTDOWN_GRACE_SECONDS": "1"}
    with ServeProcess(tmp_path, model_url=model.base_url, vault_keys=keys, env=env) as served:
        served.wait_ready()
        with served.client() as client:
            chat_id = str(client.post("/api/conversations", json={}).json()["id"])
        model.push(Delay(300, Reply("Too late.")))
        thread, got = _turn_in_background(served, chat_id)
        deadline = time.monotonic() + 60
        while not model.requests:  # bounds a hang, measures nothing
            assert time.monotonic() < deadline, (got, served.kill(), served.finish())
            time.sleep(0.1)
        served.terminate()
        thread.join(90)
        output = served.finish()
    assert served.process is not None
    assert served.process.returncode == 0, output
    assert [event["type"] for event in got][-2:] == ["error", "turn_done"], got
    assert "the server is shutting down" in got[-2]["message"]
    # The model's answer never came: the turn ends on the assistant's word that it was cut.
    state = conversation_state(tmp_path, chat_id)
    assert [(m.role, m.content) for m in state.messages] == [
        ("user", "wait for it"),
        ("assistant", TURN_ENDED["interrupted"]),
    ]
