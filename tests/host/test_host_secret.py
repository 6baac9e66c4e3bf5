"""The host's own secret survives vault key rotation, and is one per store."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from powerstrip.auth import Vault
from powerstrip.host.host_secret import load_host_secret
from powerstrip.store import create_engine, session_factory, upgrade

pytestmark = pytest.mark.anyio


def _key() -> bytes:
    return os.urandom(32)


async def test_the_secret_is_made_once_and_survives_a_new_vault_key(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'powerstrip.db'}"
    await upgrade(url)
    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        old = _key()
        first = await load_host_secret(sessions, Vault({"old": old}, "old"))
        again = await load_host_secret(sessions, Vault({"old": old}, "old"))
        # A new key put first for rotation: the stored secret still opens, unchanged.
        rotated = await load_host_secret(sessions, Vault({"new": _key(), "old": old}, "new"))
        other = await load_host_secret(sessions, Vault({"old": old}, "old"), name="other")
    finally:
        await engine.dispose()
    assert len(first) == 32
    assert first == again == rotated
    assert other != first
    raw = (tmp_path / "powerstrip.db").read_bytes()
    assert base64.b64encode(first) not in raw
