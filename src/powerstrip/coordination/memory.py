"""The in-process backends: one process, no Redis (the embedded default).

Everything lives in this process's memory and dies with it, which is right when this process is
the only worker: a turn lock is an `asyncio.Lock`, a rate window a deque of times.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from weakref import WeakValueDictionary

from powerstrip.coordination.protocols import JSONEvent, Window

__all__ = ["MemoryEventLogs", "MemoryRateWindows", "MemorySignals", "MemoryTurnLocks"]

# Keys a rate table keeps before it forgets the quiet ones, so it cannot grow forever.
_RATE_KEYS = 10_000
# Event logs kept, oldest dropped first, and how long one is kept after its last event.
_LOGS = 1_000
_LOG_SECONDS = 3600.0


class MemoryTurnLocks:
    """An `asyncio.Lock` per key, dropped when no one holds or waits for it."""

    def __init__(self) -> None:
        self._locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        async with lock:
            yield

    @asynccontextmanager
    async def claim(self, key: str) -> AsyncIterator[bool]:
        lock = self._locks.get(key)
        if lock is not None and lock.locked():
            yield False
            return
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        # Free, so taking it does not wait: nothing can take it between the check and here.
        async with lock:
            yield True


class MemoryRateWindows:
    """Hit times per key, on this process's monotonic clock."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}

    def _window(self, key: str, window: float, now: float) -> Window:
        hits = self._hits.get(key)
        if not hits:
            return Window(0, 0.0)
        while hits and now - hits[0] > window:
            hits.popleft()
        if not hits:
            return Window(0, 0.0)
        return Window(len(hits), max(0.0, window - (now - hits[0])))

    async def recent(self, key: str, window: float) -> Window:
        return self._window(key, window, time.monotonic())

    async def hit(self, key: str, window: float) -> Window:
        now = time.monotonic()
        self._hits.setdefault(key, deque()).append(now)
        if len(self._hits) > _RATE_KEYS:
            for quiet in [k for k, v in self._hits.items() if not v or now - v[-1] > window]:
                del self._hits[quiet]
        return self._window(key, window, now)

    async def clear(self, key: str) -> None:
        self._hits.pop(key, None)


class _Queue:
    """A listener: the messages of its channel, queued as they come."""

    def __init__(self) -> None:
        self.messages: asyncio.Queue[str] = asyncio.Queue()

    async def next(self, within: float) -> str | None:
        try:
            return await asyncio.wait_for(self.messages.get(), within)
        except TimeoutError:
            return None


class MemorySignals:
    """Channels whose listeners are in this process."""

    def __init__(self) -> None:
        self._listeners: dict[str, set[_Queue]] = {}

    async def send(self, channel: str, message: str = "") -> None:
        for listener in self._listeners.get(channel, ()):
            listener.messages.put_nowait(message)

    @asynccontextmanager
    async def listen(self, channel: str) -> AsyncIterator[_Queue]:
        listener = _Queue()
        self._listeners.setdefault(channel, set()).add(listener)
        try:
            yield listener
        finally:
            listeners = self._listeners.get(channel)
            if listeners is not None:
                listeners.discard(listener)
                if not listeners:
                    del self._listeners[channel]


@dataclass
class _Log:
    events: list[JSONEvent] = field(default_factory=list)
    finished: bool = False
    touched: float = field(default_factory=time.monotonic)


class MemoryEventLogs:
    """Event lists in this process; followers are woken through `MemorySignals`."""

    def __init__(self, signals: MemorySignals | None = None) -> None:
        self._signals = signals or MemorySignals()
        self._logs: OrderedDict[str, _Log] = OrderedDict()

    def _log(self, key: str) -> _Log:
        now = time.monotonic()
        while self._logs:
            oldest_key, oldest = next(iter(self._logs.items()))
            if len(self._logs) < _LOGS and now - oldest.touched < _LOG_SECONDS:
                break
            del self._logs[oldest_key]
        log = self._logs.get(key)
        if log is None:
            log = self._logs[key] = _Log()
        log.touched = now
        self._logs.move_to_end(key)
        return log

    async def append(self, key: str, event: JSONEvent) -> int:
        log = self._log(key)
        log.events.append(event)
        await self._signals.send(_channel(key))
        return len(log.events) - 1

    async def finish(self, key: str) -> None:
        self._log(key).finished = True
        await self._signals.send(_channel(key))

    async def follow(
        self, key: str, *, after: int = -1, idle: float = 5.0
    ) -> AsyncIterator[JSONEvent | None]:
        position = after + 1
        async with self._signals.listen(_channel(key)) as woken:
            while True:
                log = self._logs.get(key)
                events = log.events[position:] if log is not None else []
                for event in events:
                    yield event
                position += len(events)
                if log is not None and log.finished and position >= len(log.events):
                    return
                if not events and await woken.next(idle) is None:
                    yield None


def _channel(key: str) -> str:
    return f"events:{key}"
