"""The host app on loopback over TLS, with the example plugins and a scripted model.

`hosted` starts a real Powerstrip server (`create_app`, lifespan on, SQLite in tmp_path) that
reaches the four example plugin hosts of `tests.registry.conftest` through its own guarded
client, and asks a `ScriptedModelServer` for completions. Each plugin app is wrapped in a
`Recorder`, so a test sees exactly what the plugin received.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from powerstrip.examples import EXAMPLES, ExampleConfig
from powerstrip.host import Clock, ensure_user, issue_token
from powerstrip.server import create_app
from powerstrip.settings import Settings
from powerstrip.store import create_engine, session_factory
from powerstrip.testing import (
    ASGIApp,
    LoopbackServer,
    ScriptedModelServer,
    TestCA,
    sign_in_through_host,
)
from tests import secret_watch
from tests.conftest import LOOPBACK_NAMES
from tests.databases import backends, migrate, postgres_schema
from tests.examples.conftest import CLIENT_ID, CLIENT_SECRET, SERVICE_KEY, USERS, make_config
from tests.registry.conftest import HOSTS, PUBLIC_URL, Servers, servers

__all__ = ["HOSTS", "Hosted", "Received", "servers"]


@dataclass(frozen=True)
class Received:
    """One request a plugin received."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


class Recorder:
    """Wraps a plugin app and keeps every request it receives (the server runs in a thread)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._received: list[Received] = []

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def api_calls(self) -> list[Received]:
        """Requests to the plugin's API, not to its manifest, spec or logo."""
        files = ("/.well-known/", "/openapi", "/logo", "/legal", "/oauth/")
        return [r for r in self.received if not r.path.startswith(files)]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        for name, value in scope["headers"]:
            if name.lower() == b"authorization":
                # Whatever credential a plugin receives must never show up anywhere else.
                secret_watch.watch(value.decode().partition(" ")[2])
        with self._lock:
            self._received.append(
                Received(
                    scope["method"],
                    scope["path"],
                    scope.get("query_string", b"").decode(),
                    {k.decode().lower(): v.decode() for k, v in scope["headers"]},
                    body,
                )
            )
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


@dataclass
class Hosted:
    """A running host, the plugins behind it, and clients for its API."""

    server: LoopbackServer
    model: ScriptedModelServer
    settings: Settings
    servers: Servers
    tls: ssl.SSLContext
    data_dir: Path
    db_path: Path
    recorders: dict[str, Recorder] = field(default_factory=dict)
    configs: dict[str, ExampleConfig] = field(default_factory=dict)
    # Every answer the host's API gave, for the secret scan.
    answers: list[str] = field(default_factory=list)

    def serve(self, host: str, example: str | None = None, **changes: Any) -> ExampleConfig:
        """Put a freshly built example (default: the host's) behind `host`, recorded."""
        redirects = tuple(f"{PUBLIC_URL}/aip/{n}/oauth/callback" for n in range(1, 20))
        fields: dict[str, Any] = {"verification_tokens": {}, "oauth_redirect_uris": redirects}
        config = make_config(self.data_dir / "plugins", **(fields | changes))
        recorder = Recorder(EXAMPLES[example or HOSTS[host]].build(config))
        self.servers.apps[host].app = recorder
        self.recorders[host] = recorder
        self.configs[host] = config
        return config

    async def user(self, username: str, *, admin: bool = False) -> httpx.AsyncClient:
        """A new user with an API token, and a client that sends it."""
        engine = create_engine(self.settings.database_url)
        try:
            sessions = session_factory(engine)
            user = await ensure_user(sessions, username, admin=admin)
            token = await issue_token(sessions, user.id, "test")
            secret_watch.watch(token)
        finally:
            await engine.dispose()
        return self.client({"Authorization": f"Bearer {token}"})

    def client(self, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
        hosted = self

        async def keep(response: httpx.Response) -> None:
            await response.aread()
            hosted.answers.append(response.text)

        return httpx.AsyncClient(
            base_url=self.server.url,
            verify=self.tls,
            headers=headers,
            timeout=30,
            event_hooks={"response": [keep]},
        )

    async def add_plugin(self, api: httpx.AsyncClient, host: str) -> int:
        answer = await api.post("/api/plugins", json={"url": f"https://{host}"})
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])

    async def add_registered(
        self, developer: httpx.AsyncClient, admin: httpx.AsyncClient, host: str
    ) -> int:
        """Add the plugin at `host`, register it as its developer, verify it as an admin."""
        plugin_id = await self.add_plugin(developer, host)
        auth = HOSTS[host]
        body = (
            {"service_key": SERVICE_KEY}
            if auth == "todo-service"
            else {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        )
        if auth in ("todo-service", "todo-oauth"):
            answer = await developer.post(f"/api/plugins/{plugin_id}/registration", json=body)
            assert answer.status_code == 200, answer.text
            token = answer.json()["verification_token"]
            self.serve(host, verification_tokens={"powerstrip": token})
            verified = await developer.post(f"/api/plugins/{plugin_id}/registration/verify")
            assert verified.status_code == 200, verified.text
        answer = await admin.post(f"/api/plugins/{plugin_id}/verified", json={"value": True})
        assert answer.status_code == 200, answer.text
        return plugin_id

    async def browser_sign_in(self, sign_in_url: str, username: str) -> httpx.Response:
        """Play a browser: open the host's sign-in link, sign in at the provider, come back."""
        async with httpx.AsyncClient(verify=self.tls, timeout=30) as browser:
            callback = await sign_in_through_host(
                browser,
                sign_in_url,
                username,
                USERS[username],
                public_url=PUBLIC_URL,
                locate=self._local,
            )
            self.answers.append(callback.text)
            return callback

    def _local(self, url: str) -> str:
        """Where a browser would go for `url`: public names mapped to the loopback servers."""
        parts = urlsplit(url)
        name = parts.hostname or ""
        base = (
            self.server.url
            if f"{parts.scheme}://{parts.netloc}" == PUBLIC_URL
            else self.servers.servers[name].url
        )
        return f"{base}{parts.path}?{parts.query}"


def sse_events(text: str) -> list[dict[str, Any]]:
    """The `data:` payloads of a `text/event-stream` body."""
    return [
        json.loads(line[len("data: ") :]) for line in text.splitlines() if line.startswith("data: ")
    ]


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def vault_key() -> str:
    key = base64.b64encode(os.urandom(32)).decode()
    secret_watch.watch(key)
    return f"test:{key}"


@pytest.fixture
def scripted() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer(expected_api_key="model-key-not-a-plugin-secret") as model:
        yield model


@pytest.fixture(scope="session")
def host_tls_context(test_ca: TestCA) -> ssl.SSLContext:
    return test_ca.server_context(*LOOPBACK_NAMES)


@pytest.fixture(scope="session")
def tls(test_ca: TestCA) -> ssl.SSLContext:
    return test_ca.client_context()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Every host test runs on SQLite, and on PostgreSQL when one is given (tests/databases.py).
    if "hosted" in metafunc.fixturenames:
        metafunc.parametrize("backend", backends())


@pytest.fixture
async def database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'powerstrip.db'}"
        return
    async with postgres_schema() as url:
        yield url.render_as_string(hide_password=False)


@pytest.fixture
def extra_sites() -> dict[str, LoopbackServer]:
    """More plugin hosts for the host to reach (name → server); a module may override it."""
    return {}


@pytest.fixture
def at_own_url() -> bool:
    """Whether the host's public URL is its own loopback URL, for clients that discover the host
    from the URLs it names (MCP's OAuth); a module may override it."""
    return False


@pytest.fixture
def host_clock() -> Clock | None:
    """The clock of the host's data services (None: the system's); a module may override it."""
    return None


@pytest.fixture
async def hosted(
    tmp_path: Path,
    servers: Servers,
    extra_sites: dict[str, LoopbackServer],
    at_own_url: bool,
    host_clock: Clock | None,
    ca_bundle: Path,
    tls: ssl.SSLContext,
    host_tls_context: ssl.SSLContext,
    scripted: ScriptedModelServer,
    database_url: str,
) -> AsyncIterator[Hosted]:
    sites = servers.servers | extra_sites
    resolve = [f"{name}:443=127.0.0.1:{server.port}" for name, server in sites.items()]
    db_path = tmp_path / "powerstrip.db"
    no_app_yet: Any = None  # the app comes once the settings are made, with the server's URL
    server = LoopbackServer(no_app_yet, ssl_context=host_tls_context, lifespan=True)
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        public_url=server.url if at_own_url else PUBLIC_URL,
        resolve=resolve,
        allow_hosts=list(sites),
        ca_bundle=ca_bundle,
        model_base_url=f"{scripted.url}/v1",
        model_name="scripted-model",
        model_api_key="model-key-not-a-plugin-secret",
        vault_keys=vault_key(),
        call_timeout=2,
    )
    await migrate(settings.database_url)
    server.app = create_app(settings, clock=host_clock)
    hosted = Hosted(
        server=server,
        model=scripted,
        settings=settings,
        servers=servers,
        tls=tls,
        data_dir=tmp_path,
        db_path=db_path,
    )
    for host in HOSTS:
        hosted.serve(host)
    server.start()
    try:
        yield hosted
    finally:
        server.stop()
        for app in servers.apps.values():
            app.app = None
    # No answer of the host's API, error pages included, may carry a secret.
    leaks = secret_watch.leaks_in_text("\n".join(hosted.answers))
    assert not leaks, f"the API answered with secrets: {leaks}"
