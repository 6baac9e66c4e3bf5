"""Rate windows: hits counted in a sliding window, by every worker together on Redis."""

from __future__ import annotations

import asyncio

import pytest

from powerstrip.coordination import Coordination
from tests.coordination.conftest import Workers

pytestmark = pytest.mark.anyio


async def test_hits_are_counted_until_they_leave_the_window(shared: Coordination) -> None:
    rates = shared.rates
    assert (await rates.recent("k", 60)).count == 0
    for expected in (1, 2, 3):
        assert (await rates.hit("k", 60)).count == expected
    window = await rates.recent("k", 60)
    assert window.count == 3
    assert 0 < window.oldest_leaves_in <= 60
    # A narrow window forgets them once they are older than it.
    await rates.hit("short", 0.2)
    await asyncio.sleep(0.4)
    assert (await rates.recent("short", 0.2)).count == 0


async def test_clearing_a_key_forgets_only_its_hits(shared: Coordination) -> None:
    await shared.rates.hit("a", 60)
    await shared.rates.hit("b", 60)
    await shared.rates.clear("a")
    assert (await shared.rates.recent("a", 60)).count == 0
    assert (await shared.rates.recent("b", 60)).count == 1


async def test_every_workers_hits_count_together(workers: Workers) -> None:
    first, second = workers(), workers()
    await asyncio.gather(
        *(w.rates.hit("shared-key", 60) for w in (first, second) for _ in range(10))
    )
    assert (await first.rates.recent("shared-key", 60)).count == 20
    assert (await second.rates.recent("shared-key", 60)).count == 20
