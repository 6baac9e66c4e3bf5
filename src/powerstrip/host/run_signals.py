"""Background runs any worker can follow and cancel: their events kept, their cancel signalled.

A background response (or assistants run) runs in whichever worker started it (or took its job),
but a client's next request may reach any worker. So the running worker appends each event to
the run's event log, where `GET /v1/responses/{id}?stream=true` on any worker replays and follows
it, and listens for a cancel signal, which any worker's `cancel` sends. In one process both are
in memory; on Redis they cross workers (`powerstrip.coordination`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio

from powerstrip.coordination import EventLogs, Listener, Signals
from powerstrip.errors import CoordinationError

__all__ = ["cancel_run", "cancellable", "shared_run"]

logger = logging.getLogger(__name__)

JSON = dict[str, Any]  # Any: OpenAI's JSON


def _cancel_channel(key: str) -> str:
    return f"cancel:{key}"


async def cancel_run(signals: Signals, key: str) -> None:
    """Ask the worker running `key` to cancel it (nothing happens if none does)."""
    try:
        await signals.send(_cancel_channel(key), "cancel")
    except CoordinationError as exc:
        # The stored status still says cancelled; the run's worker finds out at its end.
        logger.warning("run_signals.cancel_failed key=%s error=%s", key, exc.message)


async def shared_run(
    events: AsyncIterator[JSON], key: str, *, logs: EventLogs, signals: Signals
) -> AsyncIterator[JSON]:
    """`events`, each also appended to the log `key`; a cancel signal for `key` cancels the
    task iterating them (the run then ends as its own cancellation says)."""
    running = asyncio.current_task()
    async with _listening(signals, _cancel_channel(key)) as cancelled:
        watcher = asyncio.create_task(_cancel_when(cancelled, running)) if cancelled else None
        kept = True
        try:
            async for event in events:
                # After a failed append the log has a gap: no more is kept, and it is never
                # marked finished, so followers end by the run's stored status instead.
                kept = kept and await _append(logs, key, event)
                yield event
        finally:
            if watcher is not None:
                watcher.cancel()
            with anyio.CancelScope(shield=True):
                if kept:
                    await _finish(logs, key)


async def cancellable(
    events: AsyncIterator[Any], key: str, *, signals: Signals
) -> AsyncIterator[Any]:
    """`events`; a cancel signal for `key` cancels the task iterating them (a run that keeps
    its state in its stored object, not in an event log)."""
    running = asyncio.current_task()
    async with _listening(signals, _cancel_channel(key)) as cancelled:
        watcher = asyncio.create_task(_cancel_when(cancelled, running)) if cancelled else None
        try:
            async for event in events:
                yield event
        finally:
            if watcher is not None:
                watcher.cancel()


@contextlib.asynccontextmanager
async def _listening(signals: Signals, channel: str) -> AsyncIterator[Listener | None]:
    try:
        listening = signals.listen(channel)
        listener = await listening.__aenter__()
    except CoordinationError as exc:
        # The run goes on; only a cancel from another worker cannot reach it.
        logger.warning("run_signals.listen_failed channel=%s error=%s", channel, exc.message)
        yield None
        return
    try:
        yield listener
    finally:
        await listening.__aexit__(None, None, None)


async def _cancel_when(cancelled: Listener, running: asyncio.Task[Any] | None) -> None:
    while await cancelled.next(3600.0) is None:
        pass
    if running is not None:
        running.cancel()


async def _append(logs: EventLogs, key: str, event: JSON) -> bool:
    try:
        await logs.append(key, event)
    except CoordinationError as exc:
        # The stored object stays the truth; only a follower on another worker misses events.
        logger.warning("run_signals.append_failed key=%s error=%s", key, exc.message)
        return False
    return True


async def _finish(logs: EventLogs, key: str) -> None:
    try:
        await logs.finish(key)
    except CoordinationError as exc:
        logger.warning("run_signals.finish_failed key=%s error=%s", key, exc.message)
