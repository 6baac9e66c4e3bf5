"""`Drain`: the turns a process is running, and how a shutdown ends them without losing one.

When the server is told to stop (SIGTERM), it stops taking connections and calls `begin(grace)`:

- turns already running go on, for up to `grace` seconds;
- a turn asked for after that (on a connection that was already open) does not start: its
  client gets an `error` event saying the server is shutting down, and nothing is written;
- when the grace period ends, each turn still running is stopped: it closes its open calls as
  interrupted (as when a client leaves mid-turn, `Chats`), and its client gets the same `error`
  event and then `turn_done`, so a stream never just breaks off.

Each turn's events are pulled in a task of their own, one each time the client's side asks for
the next (so the turn goes no further ahead of its client than before): stopping a turn cancels
that task wherever it waits (the model's stream, a plugin call), while the client's side, which
waits only for the next event, stays free to send the last ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Literal

import anyio

from powerstrip.runtime import ErrorEvent, Event, TurnDone

__all__ = ["SHUTDOWN_MESSAGE", "Drain"]

logger = logging.getLogger(__name__)

SHUTDOWN_MESSAGE = (
    "the server is shutting down: this turn was interrupted (calls it had open are marked "
    "interrupted); send your message again in a moment"
)


@dataclass(frozen=True, slots=True)
class _End:
    """The producer is done; `error` is what the turn raised, if anything."""

    error: BaseException | None = None


class Drain:
    """The turns in flight in this process; one per `Host`."""

    def __init__(self) -> None:
        self._state: Literal["serving", "draining", "stopping"] = "serving"
        self._turns: set[asyncio.Task[None]] = set()
        self._timer: asyncio.TimerHandle | None = None

    @property
    def draining(self) -> bool:
        """True once a shutdown began: no new turn starts."""
        return self._state != "serving"

    @property
    def in_flight(self) -> int:
        """How many turns are running now."""
        return len(self._turns)

    def begin(self, grace: float) -> None:
        """Refuse new turns from now on, and stop those still running after `grace` seconds."""
        if self._state != "serving":
            return
        self._state = "draining"
        logger.info("server.draining turns=%d grace_seconds=%g", len(self._turns), grace)
        self._timer = asyncio.get_running_loop().call_later(grace, self.stop)

    def stop(self) -> None:
        """Stop every turn still running now (each ends as interrupted)."""
        if self._timer is not None:
            self._timer.cancel()
        self._state = "stopping"
        if self._turns:
            logger.warning("server.stopping_turns turns=%d", len(self._turns))
        for task in list(self._turns):
            task.cancel()

    def watch(self, events: AsyncIterator[Event]) -> AsyncIterator[Event]:
        """`events` (a turn's), ended cleanly if the server shuts down before they are."""
        return self._watch(events)

    async def _watch(self, events: AsyncIterator[Event]) -> AsyncGenerator[Event, None]:
        if self.draining:
            await _aclose(events)  # never started: nothing was written
            logger.info("chats.turn_refused reason=shutdown")
            yield ErrorEvent(SHUTDOWN_MESSAGE)
            yield TurnDone("")
            return
        asks: asyncio.Queue[None] = asyncio.Queue()
        answers: asyncio.Queue[Event | _End] = asyncio.Queue()
        producer = asyncio.create_task(self._produce(events, asks, answers))
        self._turns.add(producer)
        try:
            while True:
                asks.put_nowait(None)
                item = await answers.get()
                if isinstance(item, _End):
                    if item.error is not None:
                        raise item.error
                    return
                yield item
        finally:
            # The client left (or the turn ended): the producer finishes its bookkeeping even
            # while this side is being cancelled.
            if not producer.done():
                producer.cancel()
            with anyio.CancelScope(shield=True):
                await asyncio.wait([producer])
            self._turns.discard(producer)

    async def _produce(
        self,
        events: AsyncIterator[Event],
        asks: asyncio.Queue[None],
        answers: asyncio.Queue[Event | _End],
    ) -> None:
        """Pull each event only when the client's side asks for it: in step with the client,
        as if it iterated `events` itself (a client that stops reading stops the turn)."""
        try:
            while True:
                await asks.get()
                try:
                    event = await anext(events)
                except StopAsyncIteration:
                    break
                answers.put_nowait(event)
        except asyncio.CancelledError:
            # Cancelled where the turn waited, or between two events: either way the turn's
            # own cleanup (closing its open calls) runs now.
            await _aclose(events)
            if self._state != "stopping":
                raise  # the client left: nobody reads what would come next
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            logger.warning("chats.turn_stopped reason=shutdown")
            for last in (ErrorEvent(SHUTDOWN_MESSAGE), TurnDone(""), _End()):
                answers.put_nowait(last)
            return
        except BaseException as exc:  # handed to the client's side, which raises it
            answers.put_nowait(_End(exc))
            return
        answers.put_nowait(_End())


async def _aclose(events: AsyncIterator[Event]) -> None:
    close = getattr(events, "aclose", None)
    if close is not None:
        with contextlib.suppress(RuntimeError):  # already running its own cleanup elsewhere
            await close()
