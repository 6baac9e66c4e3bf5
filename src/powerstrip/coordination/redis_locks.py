"""Turn locks on Redis: a lease with a token and an expiry, renewed while its turn runs.

    SET lock:KEY TOKEN NX PX LEASE      take it (only when free)
    PEXPIRE, if GET == TOKEN            renew it, every third of the lease
    DEL + PUBLISH, if GET == TOKEN      release it, and wake whoever waits

Only the holder's token renews or releases (compare-and-set in Lua), so a turn that outlived its
lease can never release the next holder's lock. A worker that dies holding a lock stops renewing
it, and the lease expires: the next turn waits at most one lease (30 s), never forever.

Waiting keeps today's meaning of the in-process lock: a second turn queues, it does not fail.
In one process waiters queue on a local `asyncio.Lock` first (first come, first served, and one
waiter per process asking Redis); across processes the waiter listens for the release signal and
retries when it comes, or when the holder's lease would have run out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from powerstrip.coordination.memory import MemoryTurnLocks
from powerstrip.coordination.redis_connection import RedisConnection, converted
from powerstrip.coordination.redis_signals import RedisSignals
from powerstrip.errors import CoordinationError

__all__ = ["LEASE_SECONDS", "RedisTurnLocks"]

logger = logging.getLogger(__name__)

LEASE_SECONDS = 30.0
# The longest a waiter sleeps between tries without a signal: a lost release message (pub/sub
# keeps none while reconnecting) costs at most this.
_RETRY_SECONDS = 2.0

# -1 when taken, else the milliseconds the current lease has left.
_ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    return -1
end
return redis.call('PTTL', KEYS[1])
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('DEL', KEYS[1])
    redis.call('PUBLISH', KEYS[2], '')
    return 1
end
return 0
"""


class RedisTurnLocks:
    """Leases on Redis, one per key, waited for in turn."""

    def __init__(
        self,
        connection: RedisConnection,
        signals: RedisSignals,
        *,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self._connection = connection
        self._signals = signals
        self._lease_ms = max(1, round(lease_seconds * 1000))
        self._local = MemoryTurnLocks()
        client = connection.client
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        async with self._local.hold(key):
            name = self._connection.key("lock", key)
            token = secrets.token_hex(16)
            await self._take(key, name, token)
            renewing = asyncio.create_task(self._keep(key, name, token))
            try:
                yield
            finally:
                renewing.cancel()
                # Released even when the holder is being cancelled, or the lock would stay
                # taken until the lease ran out.
                with anyio.CancelScope(shield=True):
                    with contextlib.suppress(asyncio.CancelledError):
                        await renewing
                    await self._give_back(key, name, token)

    @asynccontextmanager
    async def claim(self, key: str) -> AsyncIterator[bool]:
        async with self._local.claim(key) as free_here:
            if not free_here:
                yield False
                return
            name = self._connection.key("lock", key)
            token = secrets.token_hex(16)
            with converted(self._connection.where, "take a turn lock"):
                left = int(await self._acquire(keys=[name], args=[token, self._lease_ms]))
            if left != -1:
                yield False  # another worker's lease: a live turn, or a dead one's not out yet
                return
            renewing = asyncio.create_task(self._keep(key, name, token))
            try:
                yield True
            finally:
                renewing.cancel()
                with anyio.CancelScope(shield=True):
                    with contextlib.suppress(asyncio.CancelledError):
                        await renewing
                    await self._give_back(key, name, token)

    async def _take(self, key: str, name: str, token: str) -> None:
        where = self._connection.where
        with converted(where, "take a turn lock"):
            left = int(await self._acquire(keys=[name], args=[token, self._lease_ms]))
        if left == -1:
            return
        # Taken by another worker: listen for its release, then try again.
        async with self._signals.listen(_released(key)) as released:
            while True:
                with converted(where, "take a turn lock"):
                    left = int(await self._acquire(keys=[name], args=[token, self._lease_ms]))
                if left == -1:
                    return
                # PTTL is -2 when the key vanished between SET and PTTL, -1 without expiry
                # (never set by us): try again soon either way.
                wait = left / 1000 if left > 0 else 0.05
                await released.next(min(wait, _RETRY_SECONDS))

    async def _keep(self, key: str, name: str, token: str) -> None:
        """Renew the lease every third of it while the turn runs."""
        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            try:
                with converted(self._connection.where, "renew a turn lock"):
                    kept = int(await self._renew(keys=[name], args=[token, self._lease_ms]))
            except CoordinationError as exc:
                # Tried again at the next third; two misses in a row and the lease lapses.
                logger.warning("coordination.lock_renew_failed key=%s error=%s", key, exc.message)
                continue
            if not kept:
                # Expired (Redis restarted, or this worker stalled past its lease): another turn
                # may run now. Said loudly; the turn itself cannot be safely undone here.
                logger.error("coordination.lock_lost key=%s", key)
                return

    async def _give_back(self, key: str, name: str, token: str) -> None:
        try:
            with converted(self._connection.where, "release a turn lock"):
                await self._release(
                    keys=[name, self._signals.channel_key(_released(key))], args=[token]
                )
        except CoordinationError as exc:
            # The lease expires on its own; until then the next turn of this conversation waits.
            logger.warning("coordination.lock_release_failed key=%s error=%s", key, exc.message)


def _released(key: str) -> str:
    return f"lock-released:{key}"
