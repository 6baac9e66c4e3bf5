"""The host's own secret: random, made once, sealed in the store.

It keys the daily per-plugin user pseudonyms (`openai-ephemeral-user-id`) and the sign-in links.
Deriving it from the vault keys would change every pseudonym (plugins would see every user as
new) and void every link in flight whenever a key is added for rotation; a generated value kept
in the store stays put, and every process sharing the store reads the same one.
"""

from __future__ import annotations

import base64
import os

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.auth import Vault
from powerstrip.errors import StoreError
from powerstrip.store import HostSecret, transaction

__all__ = ["HOST_SECRET", "host_secret_context", "load_host_secret"]

HOST_SECRET = "host"  # noqa: S105 - the row name, not the secret
_BYTES = 32


def host_secret_context(name: str) -> str:
    """The vault context of a host secret: its sealed value opens only in its own row."""
    return f"host_secret:{name}"


async def load_host_secret(
    sessions: async_sessionmaker[AsyncSession], vault: Vault, name: str = HOST_SECRET
) -> bytes:
    """The secret called `name`, made and stored on first use."""
    async with sessions() as session:
        row = await session.get(HostSecret, name)
    if row is None:
        fresh = base64.b64encode(os.urandom(_BYTES)).decode()
        try:
            async with transaction(sessions) as session:
                sealed = vault.seal(fresh, context=host_secret_context(name))
                session.add(HostSecret(name=name, secret_sealed=sealed))
        except StoreError:
            # Another process starting at the same moment stored one first: use theirs.
            pass
        async with sessions() as session:
            row = await session.get(HostSecret, name)
        if row is None:  # pragma: no cover - the insert or the other process's insert is there
            raise StoreError("the host secret could not be stored", where="host_secrets")
    return base64.b64decode(vault.open(row.secret_sealed, context=host_secret_context(name)))
