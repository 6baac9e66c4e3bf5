"""The Redis connection the Redis backends share, and its errors converted at the boundary.

`redis` raises its own exception tree (and `OSError` underneath); every call into it goes
through `converted()`, so only `CoordinationError` leaves this package, naming the server (never
its password) and what to check.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import redis.asyncio as redis
from redis.exceptions import RedisError

from powerstrip.errors import ConfigError, CoordinationError

__all__ = ["RedisConnection", "converted"]


class RedisConnection:
    """A client (a pool of connections) to the Redis at `url`, and the prefix of our keys."""

    def __init__(self, url: str, *, prefix: str = "powerstrip:") -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise ConfigError(
                f"POWERSTRIP_REDIS_URL must start with redis://, rediss:// or unix://, "
                f"not {parts.scheme or 'nothing'}://",
                where="POWERSTRIP_REDIS_URL",
                fix="set it like redis://:PASSWORD@HOST:6379/0",
            )
        # Where the server is, for errors and logs: the URL minus its credentials.
        self.where = f"redis at {parts.hostname or parts.path}:{parts.port or 6379}"
        self.prefix = prefix
        try:
            self.client: redis.Redis = redis.Redis.from_url(
                url, decode_responses=True, socket_connect_timeout=5, socket_timeout=10
            )
        except ValueError as exc:
            raise ConfigError(
                f"POWERSTRIP_REDIS_URL is not a usable Redis URL: {exc}",
                where="POWERSTRIP_REDIS_URL",
                fix="set it like redis://:PASSWORD@HOST:6379/0",
            ) from None

    def key(self, *parts: str) -> str:
        """One of our keys: the prefix and the parts, colon-separated."""
        return self.prefix + ":".join(parts)

    async def ping(self) -> None:
        """CoordinationError unless the server answers."""
        with converted(self.where, "ping"):
            await self.client.ping()

    async def aclose(self) -> None:
        await self.client.aclose()


@contextmanager
def converted(where: str, doing: str) -> Iterator[None]:
    """Redis's and the socket's errors, as a CoordinationError saying what was being done."""
    try:
        yield
    except (RedisError, OSError) as exc:
        # The message of a redis error names the host and port at most, never the password.
        raise CoordinationError(
            f"the shared state could not be had ({doing}): {type(exc).__name__}: {exc}",
            where=where,
            fix="check that Redis is up and POWERSTRIP_REDIS_URL names it, then try again",
        ) from None
