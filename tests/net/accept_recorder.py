"""A TCP listener on loopback that records every connection it accepts, and answers none.

The address guard's tests point refused requests at it: if the guard let one through, the
kernel would hand the connection to this listener and `accepted` would say so. A control request
that the guard does let through proves the listener is really there to catch a leak.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType
from typing import Self

__all__ = ["AcceptRecorder"]


class AcceptRecorder:
    """Listens on 127.0.0.1 at a free port; `accepted` lists the peers it accepted, in order."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self._lock = threading.Lock()
        self._accepted: list[tuple[str, int]] = []
        self._thread = threading.Thread(target=self._serve, name="accept-recorder", daemon=True)
        self._thread.start()

    @property
    def accepted(self) -> list[tuple[str, int]]:
        """The peers of every connection accepted so far."""
        with self._lock:
            return list(self._accepted)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[tuple[str, int]]:
        """The peers accepted, once there are `count` of them or `timeout` seconds passed.

        The kernel completes a connection before this listener's thread accepts it, so a
        control dial that just connected may not be counted yet on a busy machine.
        """
        deadline = time.monotonic() + timeout
        while len(self.accepted) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.accepted

    def _serve(self) -> None:
        while True:
            try:
                connection, peer = self._socket.accept()
            except OSError:
                return
            with self._lock:
                self._accepted.append((str(peer[0]), int(peer[1])))
            connection.close()

    def close(self) -> None:
        """Stop listening."""
        # shutdown() wakes the thread blocked in accept(); close() alone may not.
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        self._socket.close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
