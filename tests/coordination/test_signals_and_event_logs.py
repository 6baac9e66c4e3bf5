"""Signals reach every listener (in any worker on Redis); event logs replay, then follow."""

from __future__ import annotations

import asyncio

import pytest

from powerstrip.coordination import Coordination
from tests.coordination.conftest import Workers

pytestmark = pytest.mark.anyio


async def test_a_signal_reaches_each_listener_of_its_channel_only(workers: Workers) -> None:
    first, second = workers(), workers()
    async with (
        first.signals.listen("ch") as one,
        second.signals.listen("ch") as two,
        second.signals.listen("other") as other,
    ):
        await first.signals.send("ch", "hello")
        assert await one.next(10) == "hello"
        assert await two.next(10) == "hello"
        assert await other.next(0.2) is None


async def test_a_signal_sent_with_no_one_listening_is_gone(shared: Coordination) -> None:
    await shared.signals.send("late", "missed")
    async with shared.signals.listen("late") as listener:
        assert await listener.next(0.2) is None


async def _collect(shared: Coordination, key: str, after: int = -1) -> list[object]:
    events: list[object] = []
    async with asyncio.timeout(30):
        async for event in shared.events.follow(key, after=after, idle=0.2):
            if event is not None:
                events.append(event["n"])
    return events


async def test_a_follower_on_another_worker_replays_then_follows_to_the_end(
    workers: Workers,
) -> None:
    runner, reader = workers(), workers()
    for n in range(3):
        assert await runner.events.append("run-1", {"n": n}) == n
    following = asyncio.create_task(_collect(reader, "run-1", after=0))
    await asyncio.sleep(0.1)
    for n in range(3, 6):
        await runner.events.append("run-1", {"n": n})
    await runner.events.finish("run-1")
    assert await following == [1, 2, 3, 4, 5]
    # A finished log replays at once, from anywhere in it.
    assert await _collect(reader, "run-1", after=3) == [4, 5]


async def test_a_quiet_log_says_so_while_it_waits(shared: Coordination) -> None:
    follower = shared.events.follow("run-quiet", idle=0.1)
    assert await anext(follower) is None  # nothing yet, and no end
    await shared.events.append("run-quiet", {"n": 0})
    assert await anext(follower) == {"n": 0}
    await follower.aclose()  # type: ignore[attr-defined]
