"""A host app on plain-HTTP loopback with SQLite, for tests of the HTTP edge itself.

`hosted` (conftest) brings the example plugins, TLS and a scripted model; tests of what the edge
does with raw requests (sizes, headers, malformed input) need none of that, and raw sockets are
simpler without TLS.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from powerstrip.host import ensure_user, issue_token
from powerstrip.server import create_app
from powerstrip.settings import Settings
from powerstrip.store import create_engine, session_factory
from powerstrip.testing import LoopbackServer
from tests import secret_watch
from tests.databases import migrate
from tests.server.conftest import vault_key

__all__ = ["LocalHost", "local_host"]


@dataclass
class LocalHost:
    """A running host app and a way to sign users in to it."""

    server: LoopbackServer
    settings: Settings

    async def token(self, username: str, *, admin: bool = False) -> str:
        """A new API token for `username` (created when missing)."""
        engine = create_engine(self.settings.database_url)
        try:
            sessions = session_factory(engine)
            user = await ensure_user(sessions, username, admin=admin)
            token = await issue_token(sessions, user.id, "test")
        finally:
            await engine.dispose()
        secret_watch.watch(token)
        return token

    async def user(self, username: str, *, admin: bool = False) -> httpx.AsyncClient:
        """A client that sends a new token of `username`."""
        token = await self.token(username, admin=admin)
        return self.client({"Authorization": f"Bearer {token}"})

    def client(self, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.server.url, headers=headers, timeout=10)


@asynccontextmanager
async def local_host(
    tmp_path: Path, *, access_log: bool = False, **changes: Any
) -> AsyncIterator[LocalHost]:
    """Serve `create_app` on http://127.0.0.1:PORT with `Settings(**changes)`."""
    fields: dict[str, Any] = {
        "data_dir": tmp_path,
        "vault_keys": vault_key(),
        "public_url": "http://127.0.0.1:8000",
        "fetch_timeout": 2,
    }
    settings = Settings(**(fields | changes))
    await migrate(settings.database_url)
    server = LoopbackServer(create_app(settings), lifespan=True, access_log=access_log)
    server.start()
    try:
        yield LocalHost(server, settings)
    finally:
        server.stop()
