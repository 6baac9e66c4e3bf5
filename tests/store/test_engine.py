"""Engines: SQLite in WAL mode with foreign keys on, URLs normalised to the async drivers."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from powerstrip.errors import ConfigError, StoreError
from powerstrip.store import (
    Conversation,
    Install,
    Message,
    User,
    create_engine,
    display_url,
    normalize_url,
    transaction,
    upgrade,
)

pytestmark = pytest.mark.anyio


async def test_sqlite_runs_in_wal_mode_with_foreign_keys_on(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'dir' / 'p.db'}"
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            journal = (await connection.execute(text("PRAGMA journal_mode"))).scalar_one()
            foreign_keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one()
            busy = (await connection.execute(text("PRAGMA busy_timeout"))).scalar_one()
    finally:
        await engine.dispose()
    assert (journal, foreign_keys) == ("wal", 1)
    assert busy > 0
    assert (tmp_path / "nested" / "dir" / "p.db").exists(), "the data directory is created"


async def test_in_memory_sqlite_is_one_shared_database() -> None:
    engine = create_engine("sqlite+aiosqlite://")
    try:
        await _create_and_count(engine)
    finally:
        await engine.dispose()


async def _create_and_count(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (x INTEGER)"))
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO t VALUES (1)"))
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1


async def test_a_reference_to_a_missing_row_is_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    orphan = Install(user_id=999, plugin_id=999, consented_auth={}, consented_api_host="x")
    with pytest.raises(StoreError, match="FOREIGN KEY"):
        await _add(sessions, orphan)


async def _add(sessions: async_sessionmaker[AsyncSession], row: object) -> None:
    async with transaction(sessions) as session:
        session.add(row)


async def test_deleting_a_user_deletes_what_they_own(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with transaction(sessions) as session:
        user = User(username="ada")
        session.add(user)
        await session.flush()
        conversation = Conversation(user_id=user.id, title="hello")
        session.add(conversation)
        await session.flush()
        session.add(Message(conversation_id=conversation.id, seq=0, role="user", content="hi"))
    async with transaction(sessions) as session:
        await session.delete(await session.get_one(User, user.id))
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Conversation)) == 0
        assert await session.scalar(select(func.count()).select_from(Message)) == 0


async def test_timestamps_come_back_timezone_aware_in_utc(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    local = datetime(2024, 5, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    async with transaction(sessions) as session:
        session.add(User(username="ada", created_at=local))
    async with sessions() as session:
        user = await session.scalar(select(User))
    assert user is not None
    assert user.created_at == datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    assert user.created_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@db/powerstrip", "postgresql+psycopg://u:***@db/powerstrip"),
        ("postgres://u@db/powerstrip", "postgresql+psycopg://u@db/powerstrip"),
        ("postgresql+psycopg2://u@db/p", "postgresql+psycopg://u@db/p"),
        ("postgresql+psycopg://u@db/p", "postgresql+psycopg://u@db/p"),
        ("sqlite:///data/p.db", "sqlite+aiosqlite:///data/p.db"),
        ("sqlite+aiosqlite:////abs/p.db", "sqlite+aiosqlite:////abs/p.db"),
    ],
)
def test_urls_are_normalised_to_the_async_drivers(given: str, expected: str) -> None:
    assert display_url(normalize_url(given)) == expected


def test_an_unsupported_database_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"unsupported database 'mysql'.*SQLite or PostgreSQL"):
        normalize_url("mysql://u:hunter2@db/p")


def test_an_unparseable_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError, match="cannot be parsed") as caught:
        normalize_url("not a url hunter2")
    assert "hunter2" not in str(caught.value)


async def test_migrations_run_on_a_plain_sqlite_url(tmp_path: Path) -> None:
    await upgrade(f"sqlite:///{tmp_path / 'plain.db'}")
    assert (tmp_path / "plain.db").exists()


async def test_a_sqlite_database_and_its_folder_are_private_to_their_owner(
    tmp_path: Path,
) -> None:
    # The database holds sealed secrets, token digests and every conversation: like vault.key
    # (0600), it must not be readable by other local users, whatever the umask.
    folder = tmp_path / "fresh" / ".powerstrip"
    path = folder / "powerstrip.db"
    previous = os.umask(0o022)
    try:
        await upgrade(f"sqlite+aiosqlite:///{path}")
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT count(*) FROM users"))
                modes = {
                    name: stat.S_IMODE((folder / name).stat().st_mode)
                    for name in ("powerstrip.db", "powerstrip.db-wal", "powerstrip.db-shm")
                }
        finally:
            await engine.dispose()
    finally:
        os.umask(previous)
    assert modes == dict.fromkeys(modes, 0o600), {k: oct(v) for k, v in modes.items()}
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


async def test_an_existing_world_readable_database_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "powerstrip.db"
    await upgrade(f"sqlite+aiosqlite:///{path}")
    path.chmod(0o644)
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await engine.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_a_postgresql_engine_keeps_enough_connections_for_concurrent_turns() -> None:
    # Connections beyond the pool's size are closed on return: under a few dozen concurrent
    # turns each checkout would then open a new PostgreSQL connection (a backend process and
    # a SCRAM handshake), which cost more than the turn itself.
    engine = create_engine("postgresql+psycopg://user:secret@127.0.0.1:1/db")
    try:
        assert engine.pool.size() >= 20  # type: ignore[attr-defined]
    finally:
        await engine.dispose()
