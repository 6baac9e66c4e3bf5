"""Signals over Redis pub/sub: one subscriber connection per process, shared by all listeners.

A listener per channel would cost a connection each; instead one `PubSub` connection subscribes
to the channels someone in this process listens on, and a reader task hands each message to
that channel's local listeners. Pub/sub keeps nothing: a message sent while no one listens (or
while the connection is being re-made) is gone, so every user of signals also has a timeout to
fall back on (a lock's expiry, a follower's idle check).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from powerstrip.coordination.memory import MemorySignals
from powerstrip.coordination.protocols import Listener
from powerstrip.coordination.redis_connection import RedisConnection, converted

__all__ = ["RedisSignals"]

logger = logging.getLogger(__name__)

# Seconds between tries while the subscriber connection is down.
_RECONNECT_PAUSE = 0.5


class RedisSignals:
    """Channels whose listeners may be in any worker."""

    def __init__(self, connection: RedisConnection) -> None:
        self._connection = connection
        self._local = MemorySignals()
        self._counts: dict[str, int] = {}
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Lock()

    def channel_key(self, channel: str) -> str:
        """The Redis channel a signal channel is sent on (for Lua scripts that send one)."""
        return self._connection.key("signal", channel)

    async def send(self, channel: str, message: str = "") -> None:
        with converted(self._connection.where, "send a signal"):
            await self._connection.client.publish(self.channel_key(channel), message)

    @asynccontextmanager
    async def listen(self, channel: str) -> AsyncIterator[Listener]:
        name = self.channel_key(channel)
        pubsub = await self._subscriber()
        # Subscribed before the block starts, so nothing sent after `listen` returns is missed.
        async with self._local.listen(name) as listener:
            self._counts[name] = self._counts.get(name, 0) + 1
            try:
                if self._counts[name] == 1:
                    with converted(self._connection.where, "listen for signals"):
                        await pubsub.subscribe(name)
                yield listener
            finally:
                self._counts[name] -= 1
                if not self._counts[name]:
                    del self._counts[name]
                    with contextlib.suppress(RedisError, OSError):
                        # Not fatal: a stale subscription only delivers messages no one reads.
                        await pubsub.unsubscribe(name)

    async def _subscriber(self) -> PubSub:
        async with self._ready:
            if self._pubsub is None:
                pubsub = self._connection.client.pubsub(ignore_subscribe_messages=True)
                # Always subscribed to one channel: a PubSub with none cannot be read from.
                with converted(self._connection.where, "listen for signals"):
                    await pubsub.subscribe(self._connection.key("signal", "-"))
                self._pubsub = pubsub
                self._reader = asyncio.create_task(self._read(pubsub))
            return self._pubsub

    async def _read(self, pubsub: PubSub) -> None:
        while True:
            try:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except (RedisError, OSError) as exc:
                logger.warning(
                    "coordination.signals_down where=%s error=%s",
                    self._connection.where,
                    type(exc).__name__,
                )
                await asyncio.sleep(_RECONNECT_PAUSE)
                continue
            if message is not None and message.get("type") == "message":
                await self._local.send(str(message["channel"]), str(message["data"]))

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
