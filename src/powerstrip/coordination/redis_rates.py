"""Sliding-window counters on Redis: a sorted set of hit times per key, on Redis's own clock.

Every worker adds its hits to the same set, so a limit holds for all of them together (five
failed sign-ins are five, whichever workers answered them). The time is Redis's (`TIME`), so
workers whose clocks disagree still agree on the window. Each set expires with its window.
"""

from __future__ import annotations

import secrets

from powerstrip.coordination.protocols import Window
from powerstrip.coordination.redis_connection import RedisConnection, converted

__all__ = ["RedisRateWindows"]

# ARGV: window in microseconds, a member to add ("" to only count). Returns {count, oldest age}.
_WINDOW = """
local now = redis.call('TIME')
local now_us = tonumber(now[1]) * 1000000 + tonumber(now[2])
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_us - window - 1)
if ARGV[2] ~= '' then
    redis.call('ZADD', KEYS[1], now_us, ARGV[2])
    redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
end
local count = redis.call('ZCARD', KEYS[1])
if count == 0 then
    return {0, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {count, now_us - tonumber(oldest[2])}
"""


class RedisRateWindows:
    """Hits per key in one sorted set each, shared by every worker."""

    def __init__(self, connection: RedisConnection) -> None:
        self._connection = connection
        self._script = connection.client.register_script(_WINDOW)

    async def _run(self, key: str, window: float, member: str) -> Window:
        window_us = round(window * 1_000_000)
        with converted(self._connection.where, "count a rate limit"):
            count, age_us = await self._script(
                keys=[self._connection.key("rate", key)], args=[window_us, member]
            )
        if not count:
            return Window(0, 0.0)
        return Window(int(count), max(0.0, (window_us - int(age_us)) / 1_000_000))

    async def recent(self, key: str, window: float) -> Window:
        return await self._run(key, window, "")

    async def hit(self, key: str, window: float) -> Window:
        # A random member: two hits in the same microsecond are still two.
        return await self._run(key, window, secrets.token_hex(8))

    async def clear(self, key: str) -> None:
        with converted(self._connection.where, "clear a rate limit"):
            await self._connection.client.delete(self._connection.key("rate", key))
