"""Fixtures shared by the whole suite: a test CA and real servers on loopback.

Servers are session-scoped (one set per xdist worker) because starting uvicorn costs ~50 ms.
`serve_app(app)` starts any ASGI app over TLS with a certificate for `LOOPBACK_NAMES`;
`loopback_policy(server, names, ca_bundle=...)` then reaches it as `https://NAME/`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from powerstrip.testing import ASGIApp, LoopbackServer, TestCA

# Names every test certificate covers; map them to a loopback server with `loopback_policy`.
LOOPBACK_NAMES = (
    "plugin.example.com",
    "www.example.com",
    "api.example.com",
    "example.com",
    "localhost",
    "127.0.0.1",
    "::1",
)

ServeApp = Callable[..., LoopbackServer]


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Async tests run on asyncio (`@pytest.mark.anyio`)."""
    return "asyncio"


@pytest.fixture(scope="session")
def test_ca() -> TestCA:
    """The CA every loopback TLS server's certificate chains to."""
    return TestCA()


@pytest.fixture(scope="session")
def ca_bundle(test_ca: TestCA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PEM file with the test CA, for `NetPolicy(ca_bundle=...)`."""
    return test_ca.ca_pem_path(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="session")
def serve_app(test_ca: TestCA) -> Iterator[ServeApp]:
    """Start an ASGI app on loopback for the rest of the session: `serve_app(app, tls=True)`."""
    started: list[LoopbackServer] = []

    def serve(app: ASGIApp, *, tls: bool = True) -> LoopbackServer:
        context = test_ca.server_context(*LOOPBACK_NAMES) if tls else None
        server = LoopbackServer(app, ssl_context=context)
        server.start()
        started.append(server)
        return server

    yield serve
    for server in started:
        server.stop()
