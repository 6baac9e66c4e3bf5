"""`build_coordination`: the shared-state backends the settings choose, built once per process.

`POWERSTRIP_REDIS_URL` unset: everything in this process (one worker, the embedded default).
Set: turn locks, rate windows, signals and event logs on that Redis, shared by every worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from powerstrip.coordination.memory import (
    MemoryEventLogs,
    MemoryRateWindows,
    MemorySignals,
    MemoryTurnLocks,
)
from powerstrip.coordination.protocols import EventLogs, RateWindows, Signals, TurnLocks
from powerstrip.coordination.redis_connection import RedisConnection
from powerstrip.coordination.redis_event_logs import RedisEventLogs
from powerstrip.coordination.redis_locks import RedisTurnLocks
from powerstrip.coordination.redis_rates import RedisRateWindows
from powerstrip.coordination.redis_signals import RedisSignals
from powerstrip.settings import Settings

__all__ = ["Coordination", "build_coordination"]


@dataclass
class Coordination:
    """The state this process shares with the other workers (or keeps, when it is the only one)."""

    backend: Literal["memory", "redis"]
    turn_locks: TurnLocks
    rates: RateWindows
    signals: Signals
    events: EventLogs
    _redis: RedisConnection | None = field(default=None, repr=False)
    _redis_signals: RedisSignals | None = field(default=None, repr=False)

    async def ping(self) -> None:
        """CoordinationError unless the shared state answers (always fine in memory)."""
        if self._redis is not None:
            await self._redis.ping()

    async def aclose(self) -> None:
        """Stop listening for signals and close the Redis connections."""
        if self._redis_signals is not None:
            await self._redis_signals.aclose()
        if self._redis is not None:
            await self._redis.aclose()


def build_coordination(
    settings: Settings, *, prefix: str = "powerstrip:", lease_seconds: float | None = None
) -> Coordination:
    """In memory without `redis_url`, on Redis with it.

    `prefix` starts every Redis key and channel (two deployments may share one Redis database
    under two prefixes); `lease_seconds` is how long a dead worker's turn lock outlives it
    (default: `POWERSTRIP_TURN_LOCK_LEASE_SECONDS`).
    """
    if not settings.redis_url:
        signals = MemorySignals()
        return Coordination(
            backend="memory",
            turn_locks=MemoryTurnLocks(),
            rates=MemoryRateWindows(),
            signals=signals,
            events=MemoryEventLogs(signals),
        )
    lease = settings.turn_lock_lease_seconds if lease_seconds is None else lease_seconds
    connection = RedisConnection(settings.redis_url, prefix=prefix)
    redis_signals = RedisSignals(connection)
    return Coordination(
        backend="redis",
        turn_locks=RedisTurnLocks(connection, redis_signals, lease_seconds=lease),
        rates=RedisRateWindows(connection),
        signals=redis_signals,
        events=RedisEventLogs(connection, redis_signals),
        _redis=connection,
        _redis_signals=redis_signals,
    )
