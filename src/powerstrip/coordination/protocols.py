"""What workers share, as Protocols: each has an in-process and a Redis backend.

- `TurnLocks`: one turn at a time per conversation, whichever worker runs it.
- `RateWindows`: sliding-window counters (failed sign-ins), counted by every worker together.
- `Signals`: fire-and-forget messages to whoever listens on a channel (a lock was released, a
  background response is to be cancelled).
- `EventLogs`: the events of a background run, kept for a while, so any worker can replay them
  to a client and follow the rest as they come.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["EventLogs", "Listener", "RateWindows", "Signals", "TurnLocks", "Window"]

# An event is a JSON object (Any: JSON values).
JSONEvent = dict[str, Any]


class TurnLocks(Protocol):
    """One holder at a time per key; others queue behind it, as an `asyncio.Lock` does."""

    def hold(self, key: str) -> AbstractAsyncContextManager[None]:
        """Wait for the key's lock, hold it for the block, release it after (even on error).

        CoordinationError when the lock cannot be had at all (Redis unreachable); a lock
        that cannot be released or renewed is logged, never raised into the block.
        """
        ...

    def claim(self, key: str) -> AbstractAsyncContextManager[bool]:
        """Hold the key's lock for the block if no one holds it now (True), never waiting.

        False: someone holds it (a live turn, or on Redis a dead worker's lease that has not
        run out yet), and nothing is held. CoordinationError as for `hold`.
        """
        ...


@dataclass(frozen=True, slots=True)
class Window:
    """What a sliding window holds now: how many hits, and when the oldest leaves it."""

    count: int
    # Seconds until the oldest hit in the window leaves it (0 when the window is empty).
    oldest_leaves_in: float


class RateWindows(Protocol):
    """Hits per key in a sliding window of `window` seconds."""

    async def recent(self, key: str, window: float) -> Window:
        """The hits of the last `window` seconds."""
        ...

    async def hit(self, key: str, window: float) -> Window:
        """Count one hit now, and return the window with it."""
        ...

    async def clear(self, key: str) -> None:
        """Forget every hit of the key."""
        ...


class Listener(Protocol):
    """The messages sent on one channel since the listener was opened."""

    async def next(self, within: float) -> str | None:
        """The next message, or None when none came `within` seconds."""
        ...


class Signals(Protocol):
    """Messages to every listener of a channel, in any worker; none are kept for later."""

    async def send(self, channel: str, message: str = "") -> None:
        """Send `message` to the channel's current listeners (none: it is dropped)."""
        ...

    def listen(self, channel: str) -> AbstractAsyncContextManager[Listener]:
        """Listen on the channel for the block."""
        ...


class EventLogs(Protocol):
    """Append-only event lists by key, numbered from 0, kept an hour after their last event."""

    async def append(self, key: str, event: JSONEvent) -> int:
        """Add an event; its number."""
        ...

    async def finish(self, key: str) -> None:
        """Mark the log complete: followers stop after its last event."""
        ...

    def follow(
        self, key: str, *, after: int = -1, idle: float = 5.0
    ) -> AsyncIterator[JSONEvent | None]:
        """The events numbered above `after`, then each new one as it comes, until finished.

        Yields None after `idle` seconds without an event, so the reader can check whether the
        run is still alive (a log no one appends to any more never finishes on its own).
        """
        ...
