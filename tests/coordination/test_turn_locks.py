"""Turn locks: one holder per key, waiters queued in order, across workers on Redis."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from powerstrip.coordination import Coordination, build_coordination
from powerstrip.errors import CoordinationError
from powerstrip.settings import Settings
from tests.coordination.conftest import LEASE, Workers
from tests.redis_servers import fresh_prefix, redis_only, redis_url

pytestmark = pytest.mark.anyio


async def _settle() -> None:
    """Time for a waiter that was wrongly let in to get in (each step polls at most 2 s)."""
    await asyncio.sleep(0.3)


async def test_a_second_holder_waits_until_the_first_leaves(workers: Workers) -> None:
    first, second = workers(), workers()
    order: list[str] = []
    release, entered = asyncio.Event(), asyncio.Event()

    async def hold(coordination: Coordination, name: str, wait_for: asyncio.Event | None) -> None:
        async with coordination.turn_locks.hold("chat-1"):
            order.append(f"{name} in")
            entered.set()
            if wait_for is not None:
                await wait_for.wait()
            order.append(f"{name} out")

    one = asyncio.create_task(hold(first, "one", release))
    await entered.wait()
    two = asyncio.create_task(hold(second, "two", None))
    await _settle()
    assert order == ["one in"]
    release.set()
    await asyncio.gather(one, two)
    assert order == ["one in", "one out", "two in", "two out"]


async def test_other_keys_are_not_held_up(shared: Coordination) -> None:
    async with shared.turn_locks.hold("chat-a"):
        async with asyncio.timeout(30):  # a deadlock fails here instead of hanging the suite
            async with shared.turn_locks.hold("chat-b"):
                pass


async def test_waiters_in_one_worker_get_the_lock_in_the_order_they_came(
    shared: Coordination,
) -> None:
    order: list[int] = []
    gate = asyncio.Event()

    async def turn(number: int) -> None:
        async with shared.turn_locks.hold("chat-2"):
            if number == 0:
                await gate.wait()
            order.append(number)

    tasks = []
    for number in range(5):
        tasks.append(asyncio.create_task(turn(number)))
        await asyncio.sleep(0.02)  # each waiter arrives after the one before
    gate.set()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4]


async def test_an_error_in_the_block_releases_the_lock(workers: Workers) -> None:
    first, second = workers(), workers()
    with pytest.raises(ValueError, match="boom"):
        async with first.turn_locks.hold("chat-3"):
            raise ValueError("boom")
    async with asyncio.timeout(30):
        async with second.turn_locks.hold("chat-3"):
            pass


async def test_a_cancelled_holder_releases_and_a_cancelled_waiter_leaves_the_queue(
    workers: Workers,
) -> None:
    first, second = workers(), workers()
    inside = asyncio.Event()

    async def hold_forever(coordination: Coordination) -> None:
        async with coordination.turn_locks.hold("chat-4"):
            inside.set()
            await asyncio.Event().wait()

    holder = asyncio.create_task(hold_forever(first))
    await inside.wait()
    waiter = asyncio.create_task(hold_forever(second))
    await _settle()
    waiter.cancel()  # gives up while waiting
    holder.cancel()  # gives up while holding
    for task in (holder, waiter):
        with pytest.raises(asyncio.CancelledError):
            await task
    async with asyncio.timeout(30):
        async with second.turn_locks.hold("chat-4"):
            pass


async def test_a_long_turn_keeps_its_lease_renewed(workers: Workers) -> None:
    first, second = workers(), workers()
    order: list[str] = []
    entered = asyncio.Event()

    async def long_turn() -> None:
        async with first.turn_locks.hold("chat-5"):
            order.append("long in")
            entered.set()
            await asyncio.sleep(LEASE * 2.5)  # well past one lease: renewed, not expired
            order.append("long out")

    task = asyncio.create_task(long_turn())
    await entered.wait()
    async with second.turn_locks.hold("chat-5"):
        order.append("next in")
    await task
    assert order == ["long in", "long out", "next in"]


_HOLDER = textwrap.dedent(
    """
    import asyncio, sys
    from powerstrip.coordination import build_coordination
    from powerstrip.settings import Settings

    async def main():
        settings = Settings(data_dir=sys.argv[3], redis_url=sys.argv[1])
        shared = build_coordination(settings, prefix=sys.argv[2], lease_seconds=float(sys.argv[4]))
        async with shared.turn_locks.hold(sys.argv[6]):
            print("held", flush=True)
            await asyncio.sleep(float(sys.argv[5]))
        print("released", flush=True)

    asyncio.run(main())
    """
)


def _holder(
    prefix: str, tmp: str, *, lease: float, hold: float, key: str = "chat-killed"
) -> subprocess.Popen[str]:
    """A worker process that takes the lock of `key`, says "held", and keeps it `hold` s."""
    args = [sys.executable, "-c", _HOLDER, redis_url(), prefix, tmp, str(lease), str(hold), key]
    child = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)  # noqa: S603
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "held"
    return child


@pytest.mark.parametrize("redis", redis_only())
async def test_a_killed_workers_lock_expires_and_the_next_turn_runs(
    redis: str, tmp_path: Path
) -> None:
    prefix = fresh_prefix()
    child = _holder(prefix, str(tmp_path), lease=LEASE, hold=3600)
    os.kill(child.pid, signal.SIGKILL)  # no release, no more renewals
    child.wait()
    assert child.stdout is not None
    child.stdout.close()
    settings = Settings(data_dir=tmp_path, redis_url=redis_url())
    other = build_coordination(settings, prefix=prefix, lease_seconds=LEASE)
    try:
        async with asyncio.timeout(30):
            async with other.turn_locks.hold("chat-killed"):
                pass
    finally:
        await other.aclose()


@pytest.mark.parametrize("redis", redis_only())
async def test_a_stalled_holder_cannot_release_the_next_holders_lock(
    redis: str, tmp_path: Path
) -> None:
    prefix = fresh_prefix()
    child = _holder(prefix, str(tmp_path), lease=LEASE, hold=LEASE * 2)
    os.kill(child.pid, signal.SIGSTOP)  # stalls past its lease
    settings = Settings(data_dir=tmp_path, redis_url=redis_url())
    other = build_coordination(settings, prefix=prefix, lease_seconds=30)
    try:
        async with asyncio.timeout(30):
            async with other.turn_locks.hold("chat-killed"):
                os.kill(child.pid, signal.SIGCONT)
                assert child.stdout is not None
                # The stalled holder wakes, ends its block and releases with its old token.
                line = await asyncio.to_thread(child.stdout.readline)
                assert line.strip() == "released"
                assert child.wait() == 0
                redis = other._redis
                assert redis is not None
                assert await redis.client.exists(redis.key("lock", "chat-killed")) == 1
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
        await other.aclose()


async def test_an_unreachable_redis_is_a_clear_error(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, redis_url="redis://127.0.0.1:1/0")
    shared = build_coordination(settings)
    try:
        with pytest.raises(CoordinationError, match=re.escape("redis at 127.0.0.1:1")) as caught:
            async with shared.turn_locks.hold("chat-x"):
                pass
        assert caught.value.fix is not None
    finally:
        await shared.aclose()


async def test_a_claim_takes_a_free_lock_and_never_waits_for_a_held_one(workers: Workers) -> None:
    first, second = workers(), workers()
    inside, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with first.turn_locks.hold("chat-claim"):
            inside.set()
            await release.wait()

    task = asyncio.create_task(holder())
    await inside.wait()
    async with asyncio.timeout(30):  # a claim that waited would hang here
        async with second.turn_locks.claim("chat-claim") as held:
            assert held is False
    release.set()
    await task
    async with second.turn_locks.claim("chat-claim") as held:
        assert held is True
        # Held by the claim now: a turn waits for it, another claim is refused.
        async with first.turn_locks.claim("chat-claim") as again:
            assert again is False
    async with asyncio.timeout(30):
        async with first.turn_locks.hold("chat-claim"):
            pass
