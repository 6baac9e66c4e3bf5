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
from datetime import timedelta
from pathlib import Path

import anyio
import pytest
from redis.asyncio import Redis
from sqlalchemy import update

from powerstrip.coordination import Coordination, build_coordination
from powerstrip.host import Host
from powerstrip.host.open_calls import TURN_ENDED
from powerstrip.host.recorder import StoreRecorder
from powerstrip.runtime import ChatMessage, ToolCall
from powerstrip.settings import Settings
from powerstrip.store import Approval, Message, transaction, utcnow
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
    assert await host.turn_recovery.sweep() == 2  # the call's answer, and the turn's end
    open_calls, answers = await anyio.to_thread.run_sync(_state, host, chat_id)
    assert open_calls == []
    [answer] = answers
    assert "stopped before the call's result arrived" in answer
    assert "may or may not have been made" in answer
    assert await host.turn_recovery.sweep() == 0  # nothing twice
    ada = await host.users.ensure("ada")
    view = await host.chats.get(ada, chat_id)
    assert view.pending == ()
    assert view.messages[-2].tool_call_id == "call_1"
    assert (view.messages[-1].role, view.messages[-1].content) == ("assistant", TURN_ENDED["lost"])


async def _unanswered_turn(host: Host, *, age: float, after_call: bool = False) -> str:
    """A conversation as a worker killed while the model answered left it, its last message
    written `age` seconds ago; `after_call`: the model was answering a call's result."""
    ada = await host.users.ensure("ada")
    chat = await host.chats.create(ada)
    recorder = StoreRecorder(host.sessions, chat.id, ada.id)
    await recorder.add_message(ChatMessage("user", "add milk"))
    if after_call:
        call = ToolCall("call_1", "todo__add_todo", json.dumps({"todo": "milk"}))
        await recorder.add_message(ChatMessage("assistant", None, tool_calls=(call,)))
        await recorder.add_message(ChatMessage("tool", "added", tool_call_id="call_1"))
    async with transaction(host.sessions) as session:
        await session.execute(
            update(Message)
            .where(Message.conversation_id == chat.id)
            .values(created_at=utcnow() - timedelta(seconds=age))
        )
    return chat.id


@pytest.mark.parametrize("after_call", [False, True])
async def test_a_turn_cut_while_the_model_answered_ends_as_interrupted(
    host: Host, after_call: bool
) -> None:
    lease = host.settings.turn_lock_lease_seconds
    chat_id = await _unanswered_turn(host, age=lease + 5, after_call=after_call)
    assert await host.turn_recovery.sweep() == 1
    assert await host.turn_recovery.sweep() == 0  # nothing twice
    ada = await host.users.ensure("ada")
    view = await host.chats.get(ada, chat_id)
    expected = ["user", "assistant", "tool", "assistant"] if after_call else ["user", "assistant"]
    assert [m.role for m in view.messages] == expected
    assert view.messages[-1].content == TURN_ENDED["lost"]
    assert view.messages[-1].tool_calls == ()
    assert view.pending == ()


async def test_a_turn_that_may_not_hold_its_lock_yet_is_left_alone(host: Host) -> None:
    """An API turn writes its request's messages, then takes the lock: younger than a lease,
    an unanswered message proves nothing, unless no turn runs anywhere (a sole process's
    start)."""
    chat_id = await _unanswered_turn(host, age=1)
    assert await host.turn_recovery.sweep() == 0
    assert await host.turn_recovery.sweep(within=timedelta(days=1)) == 0
    ada = await host.users.ensure("ada")
    assert [m.role for m in (await host.chats.get(ada, chat_id)).messages] == ["user"]
    assert await host.turn_recovery.sweep(alone=True) == 1


async def test_a_live_turn_the_model_is_answering_is_left_alone(
    host: Host, other_worker: Coordination
) -> None:
    lease = host.settings.turn_lock_lease_seconds
    chat_id = await _unanswered_turn(host, age=lease + 5)
    inside, done = asyncio.Event(), asyncio.Event()

    async def live_turn() -> None:
        async with other_worker.turn_locks.hold(chat_id):
            inside.set()
            await done.wait()

    task = asyncio.create_task(live_turn())
    await inside.wait()
    assert await host.turn_recovery.sweep() == 0
    done.set()
    await task
    assert await host.turn_recovery.sweep() == 1


async def test_the_next_message_ends_a_turn_cut_while_the_model_answered(host: Host) -> None:
    """Whatever no sweep closed yet, the conversation's next turn closes first (it holds the
    lock, so no turn of it runs): the new message follows the interrupted turn's end."""
    chat_id = await _unanswered_turn(host, age=0)
    ada = await host.users.ensure("ada")
    events = [event async for event in host.chats.send(ada, chat_id, "again")]
    assert events  # the offline model's answer, or its error: either way, after the closing
    roles = [m.role for m in (await host.chats.get(ada, chat_id)).messages]
    assert roles[:3] == ["user", "assistant", "user"]
    view = await host.chats.get(ada, chat_id)
    assert view.messages[1].content == TURN_ENDED["failed"]


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
    assert await host.turn_recovery.sweep() == 0
