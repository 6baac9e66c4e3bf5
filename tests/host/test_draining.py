"""A turn asked for while the host drains for a shutdown does not start: its client is told why,
and nothing of it is written. A turn stopped by the drain ends with the shutdown message after
its own cleanup, wherever it was; one its client leaves cleans up too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from powerstrip.host import SHUTDOWN_MESSAGE, Host
from powerstrip.host.draining import Drain
from powerstrip.runtime import ErrorEvent, Event, TextDelta, TurnDone
from powerstrip.settings import Settings
from tests.faults.serve_process import make_vault_keys
from tests.faults.store_view import conversation_state

pytestmark = pytest.mark.anyio


async def test_a_turn_asked_for_while_draining_is_refused_and_writes_nothing(
    tmp_path: Path,
) -> None:
    host = await Host.start(Settings(data_dir=tmp_path, vault_keys=make_vault_keys()))
    try:
        ada = await host.users.ensure("ada")
        chat = await host.chats.create(ada)
        host.drain.begin(grace=60)
        events = [event async for event in host.chats.send(ada, chat.id, "hello")]
    finally:
        await host.aclose()
    assert events == [ErrorEvent(SHUTDOWN_MESSAGE), TurnDone("")]
    assert (await asyncio.to_thread(conversation_state, tmp_path, chat.id)).messages == []


class _Turn:
    """A turn's events as plain text: records how far it ran and whether its cleanup ran."""

    def __init__(self, wait_after: int | None = None) -> None:
        self.produced = 0
        self.closed = False
        self.waiting = asyncio.Event()
        self._wait_after = wait_after

    async def events(self) -> AsyncIterator[Event]:
        try:
            for n in range(3):
                if n == self._wait_after:
                    self.waiting.set()
                    await asyncio.sleep(3600)  # a plugin call that never answers
                self.produced += 1
                yield TextDelta(f"part {n}")
            yield TurnDone("done")
        finally:
            self.closed = True


async def test_a_watched_turn_runs_in_step_with_its_client() -> None:
    drain, turn = Drain(), _Turn()
    watched = drain.watch(turn.events())
    assert await anext(watched) == TextDelta("part 0")
    assert turn.produced == 1  # nothing is pulled before the client asks
    assert drain.in_flight == 1
    assert [event async for event in watched] == [
        TextDelta("part 1"),
        TextDelta("part 2"),
        TurnDone("done"),
    ]
    assert turn.closed
    assert drain.in_flight == 0


async def test_a_turn_stopped_while_it_waits_ends_interrupted_after_its_cleanup() -> None:
    drain, turn = Drain(), _Turn(wait_after=1)
    received: list[Event] = []

    async def client() -> None:
        async for event in drain.watch(turn.events()):
            received.append(event)

    task = asyncio.create_task(client())
    await turn.waiting.wait()
    drain.stop()
    await asyncio.wait_for(task, 5)
    assert not task.cancelled()
    assert received == [TextDelta("part 0"), ErrorEvent(SHUTDOWN_MESSAGE), TurnDone("")]
    assert turn.closed
    assert drain.in_flight == 0


async def test_a_turn_stopped_between_two_events_ends_when_its_client_asks_again() -> None:
    drain, turn = Drain(), _Turn()
    watched = drain.watch(turn.events())
    assert await anext(watched) == TextDelta("part 0")
    drain.stop()
    rest = [event async for event in watched]
    assert rest == [ErrorEvent(SHUTDOWN_MESSAGE), TurnDone("")]
    assert turn.produced == 1
    assert turn.closed
    assert drain.in_flight == 0


async def test_a_client_that_leaves_mid_turn_is_cancelled_and_the_turn_cleans_up() -> None:
    drain, turn = Drain(), _Turn(wait_after=1)

    async def client() -> None:
        async for _event in drain.watch(turn.events()):
            pass

    task = asyncio.create_task(client())
    await turn.waiting.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert turn.closed
    assert drain.in_flight == 0


async def test_a_client_that_stops_reading_between_events_closes_the_turn() -> None:
    drain, turn = Drain(), _Turn()
    watched = drain.watch(turn.events())
    assert await anext(watched) == TextDelta("part 0")
    await watched.aclose()  # type: ignore[attr-defined]
    assert turn.closed
    assert drain.in_flight == 0
