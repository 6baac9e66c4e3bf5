"""`Drain`: the turns a process is running, and how a shutdown ends them without losing one.

When the server is told to stop (SIGTERM), it stops taking connections and calls `begin(grace)`:

- turns already running go on, for up to `grace` seconds;
- a turn asked for after that (on a connection that was already open) does not start: its
  client gets an `error` event saying the server is shutting down, and nothing is written;
- when the grace period ends, each turn still running is stopped: it closes its open calls as
  interrupted (as when a client leaves mid-turn, `Chats`), and its client gets the same `error`
  event and then `turn_done`, so a stream never just breaks off.

Each turn's events are pulled by its client's own task, one each time the client asks for the
next (so the turn goes no further ahead of its client than it would unwatched). Stopping a turn
cancels that task only while it waits inside the turn (the model's stream, a plugin call), and
the cancellation is caught here, where the turn's last events are then sent; a turn stopped
between two events (its client busy reading) ends when its client asks for the next one. The
client's task is not wrapped in another: a task and two queues per turn cost about 0.3 ms of a
turn's CPU, an extra trip through the loop for every event (docs/performance.md, Round 6).
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


@dataclass(slots=True, eq=False)
class _Turn:
    """A turn in flight, as the drain sees it."""

    task: asyncio.Task[object]
    # Inside the turn's next step: a stop cancels the task there.
    pulling: bool = False
    # This drain sent the cancellation (a client that leaves cancels the task too).
    stopped: bool = False


class Drain:
    """The turns in flight in this process; one per `Host`."""

    def __init__(self) -> None:
        self._state: Literal["serving", "draining", "stopping"] = "serving"
        self._turns: set[_Turn] = set()
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
        for turn in list(self._turns):
            # A turn between two events stops when its client asks for the next (`_watch`).
            if turn.pulling and not turn.stopped:
                turn.stopped = True
                turn.task.cancel()

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
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - an async generator always runs in a task
            raise RuntimeError("a turn's events must be read in an asyncio task")
        turn = _Turn(task)
        self._turns.add(turn)
        try:
            while self._state != "stopping":
                turn.pulling = True
                try:
                    event = await anext(events)
                except StopAsyncIteration:
                    return
                except asyncio.CancelledError:
                    if not turn.stopped:
                        raise  # the client left: nobody reads what would come next
                    # Cancelled where the turn waited: its own cleanup (closing its open
                    # calls) ran on the way out. The client still gets the last events.
                    task.uncancel()
                    break
                finally:
                    turn.pulling = False
                yield event
            await _aclose(events)  # stopped between two events: it closes its calls now
            logger.warning("chats.turn_stopped reason=shutdown")
            yield ErrorEvent(SHUTDOWN_MESSAGE)
            yield TurnDone("")
        finally:
            # The client left between two events (or the turn ended): the turn's cleanup runs
            # now, even while this side is being cancelled; after an ending, it does nothing.
            try:
                with anyio.CancelScope(shield=True):
                    await _aclose(events)
            finally:
                self._turns.discard(turn)


async def _aclose(events: AsyncIterator[Event]) -> None:
    close = getattr(events, "aclose", None)
    if close is not None:
        with contextlib.suppress(RuntimeError):  # already running its own cleanup elsewhere
            await close()
