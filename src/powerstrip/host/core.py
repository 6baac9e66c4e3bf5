"""`Host`: everything a Powerstrip process works with, built from `Settings`.

One place wires the store (engine, sessions), the vault, the guarded outbound client, the
registry, the executor, the model backend and the conversation service, so the web app and the
CLI need not.

    host = await Host.start(settings)
    ...
    await host.aclose()
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from powerstrip.auth import Vault
from powerstrip.host.chats import Chats
from powerstrip.host.model_choice import model_from_settings
from powerstrip.host.sign_in_links import SignInLinks
from powerstrip.net import GuardedClient, NetPolicy
from powerstrip.registry import Registry
from powerstrip.runtime import Executor, Model
from powerstrip.settings import Settings
from powerstrip.store import create_engine, session_factory, upgrade

__all__ = ["Host", "derive_secret"]

_HOST_KEY_FILE = "host.key"
_HOST_KEY_BYTES = 32


@dataclass
class Host:
    """The long-lived objects of one server process; any number of processes may share a store."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    vault: Vault
    client: GuardedClient
    registry: Registry
    executor: Executor
    model: Model
    chats: Chats
    sign_in_links: SignInLinks

    @classmethod
    async def start(
        cls,
        settings: Settings,
        *,
        model: Model | None = None,
        migrate: bool = True,
        host_secret: bytes | None = None,
    ) -> Host:
        """Migrate the database (unless `migrate=False`) and build every component.

        `model` replaces the backend the settings choose (tests pass a scripted one).
        """
        if migrate:
            await upgrade(settings.database_url)
        vault = Vault.from_settings(settings)
        policy = NetPolicy.from_settings(settings)
        engine = create_engine(settings.database_url)
        client = GuardedClient(policy)
        sessions = session_factory(engine)
        registry = Registry(sessions, vault, client, settings)
        executor = Executor(client)
        chosen = model or model_from_settings(settings)
        base = host_secret or _host_secret(settings)
        chats = Chats(
            sessions=sessions,
            registry=registry,
            executor=executor,
            model=chosen,
            settings=settings,
            ephemeral_secret=derive_secret(base, "ephemeral-user-id"),
        )
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            vault=vault,
            client=client,
            registry=registry,
            executor=executor,
            model=chosen,
            chats=chats,
            sign_in_links=SignInLinks(settings.public_url, derive_secret(base, "oauth-sign-in")),
        )

    async def aclose(self) -> None:
        """Close the model backend's connections, the outbound client and the database engine."""
        close = getattr(self.model, "aclose", None)
        if close is not None:
            await close()
        await self.client.aclose()
        await self.engine.dispose()


def derive_secret(base: bytes, purpose: str) -> bytes:
    """A key for one purpose, so no two uses share (or can be made to confuse) a key."""
    return hmac.new(base, f"powerstrip {purpose}".encode(), hashlib.sha256).digest()


def _host_secret(settings: Settings) -> bytes:
    """Derived from the configured vault keys, or kept in `data_dir` for a development vault.

    Derived keys are the same in every process sharing the configuration, so pseudonyms and
    sign-in links agree across a load-balanced deployment.
    """
    raw = settings.vault_keys.get_secret_value().strip()
    if raw:
        return derive_secret(raw.encode(), "host-secret")
    path = Path(settings.data_dir) / _HOST_KEY_FILE
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = os.urandom(_HOST_KEY_BYTES)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(secret)
    return secret
