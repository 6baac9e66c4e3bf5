"""The recovery sweep closes the calls of turns whose worker died, and only theirs.

The store is left as a killed worker leaves it (the messages a turn writes before its call, no
answer); a live turn is a turn lock held by another worker, and a dead worker's lease is a lock
key with an expiry and no one renewing it. `tests/faults/test_worker_kill.py` kills real
processes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from redis.asyncio import Redis

from powerstrip.coordination import Coordination, build_coordination
from powerstrip.host import Host
from powerstrip.host.recorder import StoreRecorder
from powerstrip.runtime import ChatMessage, ToolCall
from powerstrip.settings import Settings
from powerstrip.store import Approval, transaction
from tests.faults.store_view import conversation_state
from tests.redis_servers import coordination_backends, fresh_prefix, redis_only, redis_url
from tests.server.conftest import vault_key

pytestmark = pytest.mark.anyio


@pytest.fixture(params=coordination_backends())
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(tmp_path: Path, backend: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        vault_keys=vault_key(),
        redis_url=redis_url() if backend == "redis" else "",
    )


@pytest.fixture
async def host(settings: Settings) -> AsyncIterator[Host]:
    prefix = fresh_prefix()
    started = await Host.start(settings, coordination=build_coordination(settings, prefix=prefix))
    try:
        yield started
    finally:
        await started.aclose()


@pytest.fixture
async def other_worker(host: Host, settings: Settings) -> AsyncIterator[Coordination]:
    """Another worker's view of the turn locks (in memory: the same process's)."""
    if host.coordination.backend == "memory":
        yield host.coordination
        return
    prefix = host.coordination.turn_locks._connection.prefix  # type: ignore[attr-defined]
    other = build_coordination(settings, prefix=prefix)
    try:
        yield other
    finally:
        await other.aclose()


async def _lost_turn(host: Host, *, asked: bool = False) -> str:
    """A conversation as a worker killed during its call left it; its id."""
    ada = await host.users.ensure("ada")
    chat = await host.chats.create(ada)
    recorder = StoreRecorder(host.sessions, chat.id, ada.id)
    call = ToolCall("call_1", "todo__add_todo", json.dumps({"todo": "milk"}))
    await recorder.add_message(ChatMessage("user", "add milk"))
    await recorder.add_message(ChatMessage("assistant", None, tool_calls=(call,)))
    if asked:
        async with transaction(host.sessions) as session:
            session.add(
                Approval(
                    conversation_id=chat.id,
                    tool_call_id=call.id,
                    function_name=call.name,
                    arguments={"todo": "milk"},
                )
            )
    return chat.id


def _state(host: Host, chat_id: str) -> tuple[list[str], list[str]]:
    state = conversation_state(host.settings.database_url, chat_id)
    return state.open_calls, [m.content or "" for m in state.messages if m.role == "tool"]


async def test_a_dead_turn_s_call_is_closed_once_and_the_client_reads_why(host: Host) -> None:
    chat_id = await _lost_turn(host)
    assert await host.turn_recovery.sweep() == 1
    open_calls, answers = await anyio.to_thread.run_sync(_state, host, chat_id)
    assert open_calls == []
    [answer] = answers
    assert "stopped before the call's result arrived" in answer
    assert "may or may not have been made" in answer
    assert await host.turn_recovery.sweep() == 0  # nothing twice
    ada = await host.users.ensure("ada")
    view = await host.chats.get(ada, chat_id)
    assert view.pending == ()
    assert view.messages[-1].tool_call_id == "call_1"


async def test_a_live_turn_of_another_worker_is_left_alone(
    host: Host, other_worker: Coordination
) -> None:
    chat_id = await _lost_turn(host)
    inside, done = asyncio.Event(), asyncio.Event()

    async def live_turn() -> None:
        async with other_worker.turn_locks.hold(chat_id):
            inside.set()
            await done.wait()

    task = asyncio.create_task(live_turn())
    await inside.wait()
    assert await host.turn_recovery.sweep() == 0
    open_calls, _ = await anyio.to_thread.run_sync(_state, host, chat_id)
    assert open_calls == ["call_1"]  # its call is still running, for all the sweep knows
    done.set()
    await task


async def test_a_turn_paused_for_approval_is_not_a_lost_turn(host: Host) -> None:
    chat_id = await _lost_turn(host, asked=True)
    assert await host.turn_recovery.sweep() == 0
    ada = await host.users.ensure("ada")
    view = await host.chats.get(ada, chat_id)
    assert [p.call_id for p in view.pending] == ["call_1"]


# Only shared leases outlive their worker: Redis alone.
@pytest.mark.parametrize("backend", redis_only())
async def test_a_dead_worker_s_lease_is_waited_out_before_its_turn_is_closed(
    host: Host, settings: Settings
) -> None:
    chat_id = await _lost_turn(host)
    connection = host.coordination.turn_locks._connection  # type: ignore[attr-defined]
    client = Redis.from_url(settings.redis_url)
    try:
        # What a worker killed while holding the lock leaves: its token, with 1.5 s to run.
        await client.set(connection.key("lock", chat_id), "dead-worker", px=1500)
        assert await host.turn_recovery.sweep() == 0
        with anyio.fail_after(30):  # ends a hang; measures nothing
            while True:
                if await host.turn_recovery.sweep():
                    break
                await anyio.sleep(0.2)
    finally:
        await client.aclose()
    open_calls, answers = await anyio.to_thread.run_sync(_state, host, chat_id)
    assert open_calls == []
    assert len(answers) == 1
