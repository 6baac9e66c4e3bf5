"""Read and write jobs: a batch of Core statements run whole, with `transaction`'s promises."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.errors import StoreError
from powerstrip.store import (
    User,
    create_engine,
    read_job,
    session_factory,
    transaction,
    upgrade,
    write_job,
)

pytestmark = pytest.mark.anyio

_USERS = User.metadata.tables[User.__tablename__]
_COUNT = select(func.count()).select_from(_USERS)


class BoomError(Exception):
    pass


def _count(connection: Connection) -> int:
    return int(connection.execute(_COUNT).scalar_one())


async def _users(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        return list((await session.scalars(select(User.username).order_by(User.id))).all())


async def test_a_write_job_commits_its_statements_together_and_returns_its_value(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    def write(connection: Connection) -> int:
        connection.execute(insert(_USERS), {"username": "ada"})
        connection.execute(insert(_USERS), [{"username": "grace"}, {"username": "alan"}])
        return _count(connection)

    assert await write_job(sessions, write) == 3
    assert await _users(sessions) == ["ada", "grace", "alan"]


async def test_a_failing_write_job_leaves_no_rows(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    def write_then_fail(connection: Connection) -> None:
        connection.execute(insert(_USERS), {"username": "ada"})
        raise BoomError

    with pytest.raises(BoomError):
        await write_job(sessions, write_then_fail)
    assert await _users(sessions) == []


async def test_a_refused_write_job_is_a_store_error_quoting_no_value(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with transaction(sessions) as session:
        session.add(User(username="ada-the-unique"))

    def write_two(connection: Connection) -> None:
        connection.execute(insert(_USERS), {"username": "someone-else"})
        connection.execute(insert(_USERS), {"username": "ada-the-unique"})

    with pytest.raises(StoreError) as caught:
        await write_job(sessions, write_two)
    assert caught.value.where == "users"
    assert "UNIQUE constraint" in caught.value.message
    assert "ada-the-unique" not in str(caught.value)
    assert await _users(sessions) == ["ada-the-unique"], "the first row went with the refused one"


async def test_a_read_job_reads_and_commits_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with transaction(sessions) as session:
        session.add(User(username="ada"))

    def read(connection: Connection) -> list[str]:
        names = list(connection.execute(select(_USERS.c.username)).scalars())
        connection.execute(insert(_USERS), {"username": "not-kept"})
        return names

    assert await read_job(sessions, read) == ["ada"]
    assert await _users(sessions) == ["ada"]


async def test_jobs_work_again_after_a_failed_one(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    def fail(connection: Connection) -> None:
        connection.execute(insert(_USERS), {"username": "ada"})
        connection.execute(insert(_USERS), {"username": "ada"})

    for _ in range(3):  # more failures than the pool needs to hand the same connection back
        with pytest.raises(StoreError):
            await write_job(sessions, fail)
    await write_job(sessions, lambda c: c.execute(insert(_USERS), {"username": "grace"}))
    assert await read_job(sessions, _count) == 1


async def test_a_job_on_an_unmigrated_database_is_a_store_error_that_says_so(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        with pytest.raises(StoreError, match="not migrated") as caught:
            await read_job(session_factory(engine), _count)
    finally:
        await engine.dispose()
    assert caught.value.where == "users"


async def test_write_jobs_and_transactions_take_turns_on_one_sqlite_file(
    tmp_path: Path,
) -> None:
    # SQLite's promise only (one writer at a time, queued in the process), as for transactions.
    url = f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}"
    await upgrade(url)
    engine = create_engine(url)
    sessions = session_factory(engine)

    # Each reads the count and writes the next number: interleaved writers would write the
    # same name twice and be refused.
    def next_user(connection: Connection) -> None:
        count = _count(connection)
        time.sleep(0.002)  # on SQLite's thread: the loop runs other writers meanwhile
        connection.execute(insert(_USERS), {"username": f"user-{count}"})

    async def write(index: int) -> None:
        if index % 3:
            await write_job(sessions, next_user)
        else:
            async with transaction(sessions) as session:
                count = int(await session.scalar(select(func.count()).select_from(User)) or 0)
                await asyncio.sleep(0)
                session.add(User(username=f"user-{count}"))

    try:
        await asyncio.gather(*(write(i) for i in range(18)))
        assert await read_job(sessions, _count) == 18
    finally:
        await engine.dispose()


async def test_a_cancelled_write_job_ends_whole_before_the_cancellation_returns(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cancel.db"
    await upgrade(f"sqlite+aiosqlite:///{path}")
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    sessions = session_factory(engine)
    running = threading.Event()

    def slow_write(connection: Connection) -> None:
        connection.execute(insert(_USERS), {"username": "ada"})
        running.set()
        time.sleep(0.3)
        connection.execute(insert(_USERS), {"username": "grace"})

    try:
        task = asyncio.create_task(write_job(sessions, slow_write))
        assert await asyncio.to_thread(running.wait, 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Its connection and the write lock came back only once the job had committed.
        with closing(sqlite3.connect(path)) as other:
            names = [row[0] for row in other.execute("SELECT username FROM users ORDER BY id")]
        assert names == ["ada", "grace"]
        await write_job(sessions, lambda c: c.execute(insert(_USERS), {"username": "alan"}))
        assert await _users(sessions) == ["ada", "grace", "alan"]
    finally:
        await engine.dispose()


async def test_a_connection_that_broke_under_a_job_is_dropped_and_the_next_job_works(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'broken.db'}"
    await upgrade(url)
    engine = create_engine(url)
    sessions = session_factory(engine)

    def break_then_read(connection: Connection) -> int:
        # What a connection lost underneath the pool looks like from the job's side.
        connection.connection.dbapi_connection.close()  # type: ignore[union-attr]
        return _count(connection)

    try:
        with pytest.raises(DBAPIError, match="closed database"):
            await read_job(sessions, break_then_read)
        for name in ("ada", "grace", "alan"):  # each connection the pool hands out is live
            row = {"username": name}
            await write_job(sessions, lambda c, row=row: c.execute(insert(_USERS), row))
        assert await read_job(sessions, _count) == 3
    finally:
        await engine.dispose()
