"""Event logs on Redis: a list per key, and a signal on each append to wake its followers.

The worker running a background response appends each event (`RPUSH`, whose answer is the new
length, so the event's number); a client reading the response's stream from any other worker
replays the list from where it left off (`LRANGE`) and then waits for the next signal. A
finished log ends with a marker that is not an event. Lists expire an hour after their last
append.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from powerstrip.coordination.protocols import JSONEvent
from powerstrip.coordination.redis_connection import RedisConnection, converted
from powerstrip.coordination.redis_signals import RedisSignals

__all__ = ["RedisEventLogs"]

_KEEP_SECONDS = 3600
# Stored last in a finished log; never valid JSON of an event (events are objects).
_END = "end"
# Events read per LRANGE while replaying a long log.
_PAGE = 500


class RedisEventLogs:
    """Event lists on Redis, followed through `RedisSignals`."""

    def __init__(self, connection: RedisConnection, signals: RedisSignals) -> None:
        self._connection = connection
        self._signals = signals

    def _key(self, key: str) -> str:
        return self._connection.key("events", key)

    async def _push(self, key: str, value: str) -> int:
        name = self._key(key)
        with converted(self._connection.where, "keep an event"):
            async with self._connection.client.pipeline(transaction=True) as pipe:
                pipe.rpush(name, value)
                pipe.expire(name, _KEEP_SECONDS)
                pipe.publish(self._signals.channel_key(_channel(key)), "")
                length, _, _ = await pipe.execute()
        return int(length) - 1

    async def append(self, key: str, event: JSONEvent) -> int:
        return await self._push(key, json.dumps(event, ensure_ascii=False))

    async def finish(self, key: str) -> None:
        await self._push(key, _END)

    async def follow(
        self, key: str, *, after: int = -1, idle: float = 5.0
    ) -> AsyncIterator[JSONEvent | None]:
        name = self._key(key)
        position = after + 1
        async with self._signals.listen(_channel(key)) as woken:
            while True:
                with converted(self._connection.where, "read events"):
                    # redis-py types its commands for both its sync and async clients.
                    stored: list[str] = await self._connection.client.lrange(  # type: ignore[misc]
                        name, position, position + _PAGE - 1
                    )
                for value in stored:
                    if value == _END:
                        return
                    yield json.loads(value)
                position += len(stored)
                if not stored and await woken.next(idle) is None:
                    yield None


def _channel(key: str) -> str:
    return f"events:{key}"
