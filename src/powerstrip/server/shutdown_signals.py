"""Hearing SIGTERM before the server acts on it, so turns in flight can be drained.

uvicorn stops listening on SIGTERM (or Ctrl-C) and waits for open connections; the app itself
hears of the shutdown only when they have all closed, too late to tell a streaming client
anything. `drain_on_signals` puts a handler in front of the server's own: it starts the host's
drain (`Drain.begin`), then hands the signal on unchanged.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType

from powerstrip.host import Drain

__all__ = ["drain_on_signals"]

_SIGNALS = (signal.SIGTERM, signal.SIGINT)

Handler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None


def drain_on_signals(drain: Drain, grace: float) -> Callable[[], None]:
    """Start `drain` with `grace` seconds on SIGTERM or SIGINT; returns the undo.

    Only the main thread may set signal handlers: elsewhere (a server in a test's thread)
    nothing is installed.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous: dict[int, Handler] = {}

    def handler(number: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(drain.begin, grace)
        chained = previous.get(number)
        if callable(chained):
            chained(number, frame)
        elif chained != signal.SIG_IGN:
            # Nobody handled it before us: do what the signal does by default.
            signal.signal(number, signal.SIG_DFL)
            signal.raise_signal(number)

    for number in _SIGNALS:
        previous[number] = signal.getsignal(number)
        signal.signal(number, handler)

    def undo() -> None:
        for number, old in previous.items():
            if signal.getsignal(number) is handler:
                signal.signal(number, old if old is not None else signal.SIG_DFL)

    return undo
