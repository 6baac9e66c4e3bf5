"""Real HTTP(S) servers on loopback for end-to-end tests, and a policy that reaches them.

`LoopbackServer` runs any ASGI app with uvicorn in a background thread on 127.0.0.1 and a free
port, optionally behind a ready-made `ssl.SSLContext` (see `TestCA.server_context`).
`loopback_policy` builds a `NetPolicy` that maps real-looking names (`plugin.example.com`,
port 443) onto that server and opens them in the address guard.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from powerstrip.net import AllowList, NetPolicy, ResolveRule
from powerstrip.net.address_guard import ip_address

if TYPE_CHECKING:
    import uvicorn

from powerstrip.aliases import ASGIApp

__all__ = ["ASGIApp", "LoopbackServer", "loopback_policy"]

_STARTUP_SECONDS = 10.0


class LoopbackServer:
    """An ASGI app served by uvicorn on 127.0.0.1 in a background thread.

    Use as a context manager (or call `start()` / `stop()`); `port` is known as soon as the
    object exists, because the listening socket is bound in `__init__` (to a free port, or to
    `port` when given: an app that must know its own URL before it is built).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        ssl_context: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        lifespan: bool = False,
        graceful_seconds: int = 1,
        access_log: bool = False,
    ) -> None:
        self.app = app
        self.ssl_context = ssl_context
        self.host = host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self.lifespan = lifespan
        # On: uvicorn logs each request to `uvicorn.access` at INFO (tests of what it shows).
        self.access_log = access_log
        # How long stop() lets requests in flight finish before cancelling them.
        self.graceful_seconds = graceful_seconds
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # uvicorn serves a socket handed to it without setting TCP_NODELAY on the connections it
        # accepts; Linux copies the option from the listening socket. Without it every response
        # (headers, then body) waited out the client's delayed ACK: ~40 ms a request.
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socket.bind((host, port))
        self.port: int = self._socket.getsockname()[1]
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def scheme(self) -> str:
        """`https` when serving TLS, else `http`."""
        return "https" if self.ssl_context is not None else "http"

    @property
    def url(self) -> str:
        """The base URL, e.g. `https://127.0.0.1:43121`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def start(self) -> None:
        """Start serving; returns once the server accepts connections."""
        try:
            import uvicorn
        except ImportError:  # pragma: no cover - uvicorn is a dev dependency
            raise ImportError("LoopbackServer needs uvicorn: pip install uvicorn") from None
        context = self.ssl_context
        config = uvicorn.Config(
            self.app,
            # On for apps that open their resources at startup (the host app), in this thread's
            # event loop, where they are then used.
            lifespan="on" if self.lifespan else "off",
            log_config=None,
            log_level="info" if self.access_log else "warning",
            access_log=self.access_log,
            timeout_graceful_shutdown=self.graceful_seconds,
            # uvicorn builds its own SSLContext from files; this public hook hands it ours, so
            # tests control versions and ciphers exactly.
            ssl_context_factory=(lambda _config, _default: context) if context else None,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [self._socket]},
            name=f"loopback-server-{self.port}",
            daemon=True,
        )
        thread.start()
        deadline = time.monotonic() + _STARTUP_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the loopback server on port {self.port} did not start")
            time.sleep(0.01)
        self._server, self._thread = server, thread

    def stop(self) -> None:
        """Stop serving and wait for the thread to finish."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5)
            self._server = self._thread = None
        self._socket.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def loopback_policy(
    server: LoopbackServer,
    names: tuple[str, ...] | list[str],
    *,
    ca_bundle: Path | None = None,
    **overrides: Any,  # Any: forwarded as NetPolicy fields
) -> NetPolicy:
    """A NetPolicy that sends `https://NAME/` (port 443) for each name to `server`.

    Each name gets a `NAME:443=127.0.0.1:PORT` override and an allowlist entry, so the address
    guard lets exactly these names reach loopback; everything else stays guarded.
    """
    address = ip_address(server.host)
    rules = tuple(
        ResolveRule(host=name.lower(), address=address, port=443, to_port=server.port)
        for name in names
    )
    return NetPolicy(
        ca_bundle=ca_bundle,
        resolve=rules,
        allow=AllowList.parse(names),
        **overrides,
    )
