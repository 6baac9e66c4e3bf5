"""Transactions: every write that belongs together is one transaction, so no half-written rows.

`transaction(sessions)` commits when its block succeeds and rolls back on any exception; the
database's refusals (a unique or foreign key violation, a locked or unmigrated database) come out
as `StoreError` saying what, where and how to fix it. Values are never quoted: a refused row may
hold a sealed secret or a user's text.

On SQLite, write transactions are serialised, twice over. In the process, one asyncio lock per
engine queues them in the event loop: SQLite has one writer at a time anyway, and writers that
wait in the event loop are served in order, where writers polling the busy handler are served
by luck and time out under load. Then each one starts with `BEGIN IMMEDIATE`, which takes the
write lock before the first read: a deferred transaction that reads, then writes, cannot be
made to wait (SQLite refuses it at once when another writer got in between), and its reads
would be stale. Against other processes (the CLI next to the server) the busy timeout of
`create_engine` waits. Every block must therefore be short: no network I/O and no model
streaming inside one. Reads outside a transaction are not serialised (WAL: they never block).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from typing import NoReturn
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from powerstrip.errors import StoreError

__all__ = [
    "bound_engine",
    "engine_write_lock",
    "raise_as_store_error",
    "store_error",
    "transaction",
]

_MIGRATE_FIX = "run the migrations (`powerstrip.store.upgrade(url)`, done at startup)"

# SQLite: "UNIQUE constraint failed: users.username", "FOREIGN KEY constraint failed", ...
_SQLITE_CONSTRAINT = re.compile(
    r"(?P<kind>UNIQUE|NOT NULL|CHECK|FOREIGN KEY) constraint failed(?:: (?P<detail>.+))?"
)
_SQLITE_NO_TABLE = re.compile(r"no such table: (?P<table>\w+)")
# PostgreSQL SQLSTATEs of the integrity class.
_PG_CONSTRAINTS = {
    "23505": "UNIQUE",
    "23503": "FOREIGN KEY",
    "23502": "NOT NULL",
    "23514": "CHECK",
}
_FIXES = {
    "UNIQUE": "a row with the same unique value already exists: update it, or use another value",
    "FOREIGN KEY": "the row refers to a row that does not exist (or is still referred to)",
    "NOT NULL": "give the column a value",
    "CHECK": "use one of the values the column allows",
}


# One write lock per SQLite engine (a database file), created on first use.
_SQLITE_WRITERS: WeakKeyDictionary[Engine, asyncio.Lock] = WeakKeyDictionary()


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose writes commit together when the block ends, or not at all.

    On SQLite the block holds the database's write lock from start to commit: keep it short.
    """
    async with sessions() as session:
        lock = _sqlite_write_lock(session)
        async with lock if lock is not None else nullcontext():
            try:
                if lock is not None:
                    # The write lock now, before the block's first read (module docstring).
                    await session.execute(text("BEGIN IMMEDIATE"))
                yield session
                await session.commit()
            except Exception as exc:
                await session.rollback()
                raise_as_store_error(exc)


def bound_engine(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    """The engine `sessions` are bound to (`session_factory` binds every factory to one)."""
    bind = sessions.kw.get("bind")
    if not isinstance(bind, AsyncEngine):
        raise TypeError("the session factory is not bound to one AsyncEngine (session_factory)")
    return bind


def raise_as_store_error(exc: Exception) -> NoReturn:
    """Raise `exc`, as the `StoreError` describing it when it is a refusal we describe."""
    converted = store_error(exc) if isinstance(exc, DBAPIError) else exc
    if converted is exc:
        raise exc
    # Safe to chain: engines hide statement parameters, so the cause quotes no values.
    raise converted from exc


def _sqlite_write_lock(session: AsyncSession) -> asyncio.Lock | None:
    """The in-process write lock of the session's database when it is SQLite, else None."""
    bind = session.get_bind()
    return engine_write_lock(bind if isinstance(bind, Engine) else bind.engine)


def engine_write_lock(engine: Engine) -> asyncio.Lock | None:
    if engine.dialect.name != "sqlite":
        return None
    lock = _SQLITE_WRITERS.get(engine)
    if lock is None:
        lock = _SQLITE_WRITERS.setdefault(engine, asyncio.Lock())
    return lock


def store_error(exc: DBAPIError) -> StoreError | DBAPIError:
    """The `StoreError` for a database refusal, or `exc` itself when it is none we describe."""
    if isinstance(exc, IntegrityError):
        kind, table, columns = _integrity_details(exc)
        what = f"the database refused the write: {kind} constraint"
        if columns:
            what += f" on {', '.join(columns)}"
        return StoreError(what, where=table or "database", fix=_FIXES.get(kind))
    if isinstance(exc, OperationalError | ProgrammingError):
        text = str(exc.orig)
        missing = _SQLITE_NO_TABLE.search(text)
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if missing or sqlstate == "42P01":  # undefined table
            table = missing["table"] if missing else _pg_diag(exc, "table_name") or "database"
            return StoreError(
                "a table is missing: the database is not migrated", where=table, fix=_MIGRATE_FIX
            )
        if "database is locked" in text:
            return StoreError(
                "the SQLite database stayed locked by another writer",
                where="database",
                fix="retry; for many concurrent writers, move to PostgreSQL (docs/deploy.md)",
            )
        if isinstance(exc, OperationalError):
            return StoreError(
                f"the database failed: {type(exc.orig).__name__}",
                where="database",
                fix="check that the database is reachable and POWERSTRIP_DATABASE_URL is right",
            )
    return exc


def _integrity_details(exc: IntegrityError) -> tuple[str, str | None, list[str]]:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in _PG_CONSTRAINTS:
        table = _pg_diag(exc, "table_name")
        column = _pg_diag(exc, "column_name")
        constraint = _pg_diag(exc, "constraint_name")
        columns = [column] if column else ([constraint] if constraint else [])
        return _PG_CONSTRAINTS[sqlstate], table, columns
    match = _SQLITE_CONSTRAINT.search(str(exc.orig))
    if match is None:
        return "integrity", None, []
    kind, detail = match["kind"], match["detail"] or ""
    # "users.username" or "installs.user_id, installs.plugin_id"; CHECK gives the constraint name.
    names = [part.strip() for part in detail.split(",") if part.strip()]
    tables = {name.split(".", 1)[0] for name in names if "." in name}
    table = tables.pop() if len(tables) == 1 else None
    return kind, table, names


def _pg_diag(exc: DBAPIError, field: str) -> str | None:
    diag = getattr(exc.orig, "diag", None)
    value = getattr(diag, field, None)
    return value if isinstance(value, str) else None
