"""SQLite on its own thread, one hand-off per statement: the driver the engine uses for SQLite."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from powerstrip.errors import StoreError
from powerstrip.store.engine import create_engine
from powerstrip.store.sqlite_thread import ThreadedConnection

pytestmark = pytest.mark.anyio


async def test_statements_through_the_engine_read_and_write(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)"))
            inserted = await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
            assert inserted.lastrowid == 1
            await connection.execute(
                text("INSERT INTO t (name) VALUES (:name)"), [{"name": "b"}, {"name": "c"}]
            )
            changed = await connection.execute(text("UPDATE t SET name = upper(name)"))
            assert changed.rowcount == 3
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT id, name FROM t ORDER BY id"))).all()
            assert [tuple(row) for row in rows] == [(1, "A"), (2, "B"), (3, "C")]
            # The connection's pragmas ran through the driver too.
            mode = (await connection.execute(text("PRAGMA journal_mode"))).scalar()
            keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar()
            assert (mode, keys) == ("wal", 1)
    finally:
        await engine.dispose()


async def test_a_failed_statement_is_a_store_error_and_the_connection_goes_on(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
            await connection.execute(text("INSERT INTO t (id) VALUES (1)"))

        async def insert_two_then_a_duplicate() -> None:
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO t (id) VALUES (2)"))
                await connection.execute(text("INSERT INTO t (id) VALUES (1)"))

        with pytest.raises(StoreError):
            await insert_two_then_a_duplicate()
        async with engine.connect() as connection:
            # The failed transaction was rolled back whole: row 2 is not there either.
            assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_a_cancelled_statement_leaves_the_connection_usable(tmp_path: Path) -> None:
    # An outcome handed to a future nobody waits for any more must not be an error in the loop.
    loop_errors: list[dict[str, object]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: loop_errors.append(ctx))
    connection = await ThreadedConnection.connect(str(tmp_path / "db.sqlite"))
    try:
        cursor = connection.cursor()
        slow = asyncio.ensure_future(
            cursor.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000)"
                " SELECT count(*) FROM n"
            )
        )
        await asyncio.sleep(0)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        # The statement finished on the thread; its outcome went nowhere, and the next one runs.
        await cursor.execute("SELECT 42")
        assert await cursor.fetchall() == [(42,)]
        assert loop_errors == []
    finally:
        await connection.close()
        asyncio.get_running_loop().set_exception_handler(None)


async def test_close_ends_the_thread_and_later_use_is_a_disconnect(tmp_path: Path) -> None:
    connection = await ThreadedConnection.connect(str(tmp_path / "db.sqlite"))
    thread = connection._thread
    await connection.close()
    thread.join(timeout=5)
    assert not thread.is_alive()
    with pytest.raises(ValueError, match="Connection closed"):
        await connection.cursor().execute("SELECT 1")
    await connection.close()  # closing twice is harmless


async def test_a_database_that_cannot_be_opened_fails_with_sqlite_s_error(
    tmp_path: Path,
) -> None:
    with pytest.raises(sqlite3.OperationalError):
        await ThreadedConnection.connect(str(tmp_path / "missing" / "db.sqlite"))


async def test_stop_closes_without_waiting(tmp_path: Path) -> None:
    connection = await ThreadedConnection.connect(str(tmp_path / "db.sqlite"))
    thread = connection._thread
    connection.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()


async def test_rollback_undoes_an_open_transaction_and_commit_keeps_one(tmp_path: Path) -> None:
    connection = await ThreadedConnection.connect(str(tmp_path / "db.sqlite"))
    try:
        cursor = connection.cursor()
        await cursor.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        await connection.commit()
        await cursor.execute("INSERT INTO t (id) VALUES (1)")
        await connection.rollback()
        await cursor.execute("INSERT INTO t (id) VALUES (2)")
        await connection.commit()
        await connection.rollback()  # nothing open: nothing to undo
        await cursor.execute("SELECT id FROM t")
        assert await cursor.fetchall() == [(2,)]
    finally:
        await connection.close()
