"""A registry over SQLite in tmp_path, with the example plugins served over HTTPS on loopback.

Four session-scoped servers answer as four real-looking hosts; each test puts freshly built
example apps behind them (`world.serve(host, example, ...)`), so a test can also swap a plugin's
app mid-test, as its developer would redeploy it.
"""

from __future__ import annotations

import dataclasses
import os
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.auth import Vault
from powerstrip.examples import EXAMPLES, ExampleConfig
from powerstrip.net import AllowList, GuardedClient
from powerstrip.registry import Registry
from powerstrip.settings import Settings
from powerstrip.store import (
    Conversation,
    User,
    create_engine,
    session_factory,
    transaction,
)
from powerstrip.testing import ASGIApp, LoopbackServer, TestCA, loopback_policy
from tests.conftest import ServeApp
from tests.databases import migrate
from tests.examples.conftest import CLIENT_ID, CLIENT_SECRET, SERVICE_KEY, USERS, make_config

PUBLIC_URL = "https://host.example.org"
# Which example each host serves by default.
HOSTS = {
    "plugin.example.com": "todo-none",
    "api.example.com": "todo-service",
    "www.example.com": "todo-user",
    "example.com": "todo-oauth",
}
__all__ = ["CLIENT_ID", "CLIENT_SECRET", "SERVICE_KEY", "USERS", "World"]


class SwappableApp:
    """An ASGI app that forwards to whichever app a test puts behind it."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.app is None:
            raise RuntimeError("no app is being served: call world.serve() first")
        await self.app(scope, receive, send)


@dataclass
class Servers:
    apps: dict[str, SwappableApp]
    servers: dict[str, LoopbackServer]


@pytest.fixture(scope="session")
def servers(serve_app: ServeApp) -> Servers:
    apps = {host: SwappableApp() for host in HOSTS}
    return Servers(apps, {host: serve_app(app) for host, app in apps.items()})


@dataclass
class World:
    """A registry and everything around it, for one test."""

    registry: Registry
    sessions: async_sessionmaker[AsyncSession]
    vault: Vault
    client: GuardedClient
    db_path: Path
    data_dir: Path
    servers: Servers
    tls: ssl.SSLContext
    configs: dict[str, ExampleConfig] = field(default_factory=dict)

    def config(self, **changes: Any) -> ExampleConfig:
        redirects = tuple(f"{PUBLIC_URL}/aip/{n}/oauth/callback" for n in range(1, 20))
        fields: dict[str, Any] = {"verification_tokens": {}, "oauth_redirect_uris": redirects}
        return make_config(self.data_dir, **(fields | changes))

    def serve(self, host: str, example: str | None = None, **changes: Any) -> ExampleConfig:
        """Build `example` (default: the host's) with the test config and serve it at `host`."""
        config = self.config(**changes)
        self.servers.apps[host].app = EXAMPLES[example or HOSTS[host]].build(config)
        self.configs[host] = config
        return config

    async def add_user(self, username: str) -> int:
        async with transaction(self.sessions) as session:
            user = User(username=username)
            session.add(user)
            await session.flush()
            return user.id

    async def add_conversation(self, user_id: int) -> str:
        async with transaction(self.sessions) as session:
            conversation = Conversation(user_id=user_id)
            session.add(conversation)
            await session.flush()
            return conversation.id

    async def count(self, model: type[Any], *where: Any) -> int:
        async with self.sessions() as session:
            return int(
                await session.scalar(select(func.count()).select_from(model).where(*where)) or 0
            )

    async def add_verified(self, host: str, developer: str = "dev") -> int:
        """Add the plugin at `host`, register it, publish the issued token, and verify it."""
        plugin = await self.registry.add_plugin(f"https://{host}")
        developer_id = await self.add_user(f"{developer}-{plugin.id}")
        if plugin.auth_type == "service_http":
            token = await self.registry.register(plugin.id, developer_id, service_key=SERVICE_KEY)
        else:
            token = await self.registry.register(
                plugin.id, developer_id, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
            )
        self.serve(host, verification_tokens={"powerstrip": token})
        await self.registry.verify_token(plugin.id)
        return plugin.id

    async def browser_sign_in(self, url: str, username: str) -> tuple[str, str]:
        """Play the user's browser at the provider: sign in, return (code, state)."""
        parts = urlsplit(url)
        local = f"{self.servers.servers[parts.hostname or ''].url}{parts.path}?{parts.query}"
        async with httpx.AsyncClient(verify=self.tls) as browser:
            form = await browser.get(local)
            assert form.status_code == 200, form.text
            answer = await browser.post(
                local, data={"username": username, "password": USERS[username]}
            )
        assert answer.status_code == 302, answer.text
        location = urlsplit(answer.headers["location"])
        assert location.path.endswith("/oauth/callback")
        query = parse_qs(location.query)
        return query["code"][0], query["state"][0]

    async def sign_in(self, user_id: int, plugin_id: int, username: str) -> None:
        """The whole OAuth sign-in of `username` for `user_id`, in one session."""
        session_id = f"session-{user_id}"
        url = await self.registry.begin_oauth(user_id, plugin_id, session_id)
        code, state = await self.browser_sign_in(url, username)
        await self.registry.finish_oauth(plugin_id, session_id, code, state)

    async def call(self, host: str, path: str, headers: dict[str, str]) -> httpx.Response:
        """Call a plugin's API over the guarded client, as the runtime would."""
        response = await self.client.request("GET", f"https://{host}{path}", headers=headers)
        return httpx.Response(response.status_code, content=response.content)


def make_settings(data_dir: Path, **changes: Any) -> Settings:
    return Settings(data_dir=data_dir, public_url=PUBLIC_URL, **changes)


@pytest.fixture(scope="session")
def tls(test_ca: TestCA) -> ssl.SSLContext:
    return test_ca.client_context()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def vault() -> Vault:
    return Vault({"test": os.urandom(32)}, "test")


@pytest.fixture
async def world(
    tmp_path: Path,
    servers: Servers,
    ca_bundle: Path,
    tls: ssl.SSLContext,
    settings: Settings,
    vault: Vault,
) -> AsyncIterator[World]:
    db_path = tmp_path / "powerstrip.db"
    url = f"sqlite+aiosqlite:///{db_path}"
    await migrate(url)
    engine = create_engine(url)
    policies = [
        loopback_policy(server, [host], ca_bundle=ca_bundle)
        for host, server in servers.servers.items()
    ]
    policy = dataclasses.replace(
        policies[0],
        resolve=tuple(rule for p in policies for rule in p.resolve),
        allow=AllowList.parse(HOSTS),
    )
    async with GuardedClient(policy) as client:
        sessions = session_factory(engine)
        world = World(
            registry=Registry(sessions, vault, client, settings),
            sessions=sessions,
            vault=vault,
            client=client,
            db_path=db_path,
            data_dir=tmp_path / "plugins",
            servers=servers,
            tls=tls,
        )
        for host in HOSTS:
            world.serve(host)
        yield world
    await engine.dispose()
    for app in servers.apps.values():
        app.app = None
