"""A batch of reads, or a write transaction, run as one synchronous job on a connection.

Each statement through SQLAlchemy's async layer pays for a greenlet, the async connection's
wrappers and, on SQLite, a trip to the connection's thread and back; a chat turn sends a dozen
statements that way, and that layer cost it far more than SQLite's own work did
(docs/performance.md). `read_job` and `write_job` take a plain function of a synchronous
`Connection` (prebuilt Core statements, no awaiting inside) and run it whole:

- on SQLite, the function runs on the connection's own thread (`store/sqlite_thread.py`), with
  the engine's dialect, statement cache and events: one trip for the whole batch;
- on any other database (PostgreSQL through psycopg), the same function runs in one greenlet on
  the async connection, as `AsyncConnection.run_sync` does: each statement is still a round trip
  to the server, but the batch pays for the async layer once.

`write_job` keeps `transaction`'s promise: the function's writes commit together or not at all;
on SQLite, writers queue in the process (one asyncio lock per engine) and open with
`BEGIN IMMEDIATE`; the database's refusals come out as `StoreError`, quoting no value. A read job
commits nothing: its reads see one snapshot only on PostgreSQL's default isolation per statement,
as a session's reads outside a transaction do.

The connection is held (and, for a write, the write lock) until the job has finished on its
thread, even when the awaiting task is cancelled: the next user of that connection never finds
it mid-statement.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any, TypeVar, cast

import anyio
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import await_, greenlet_spawn

from powerstrip.store.session import bound_engine, engine_write_lock, raise_as_store_error
from powerstrip.store.sqlite_thread import ThreadedConnection

__all__ = ["read_job", "write_job"]

_T = TypeVar("_T")

Job = Callable[[Connection], _T]


async def read_job(sessions: async_sessionmaker[AsyncSession], job: Job[_T]) -> _T:
    """`job`'s reads on one connection, in one go; nothing it does is committed."""
    return await _run(sessions, job, write=False)


async def write_job(sessions: async_sessionmaker[AsyncSession], job: Job[_T]) -> _T:
    """`job`'s writes in one transaction: all committed when it returns, none if it raises.

    On SQLite the job holds the database's write lock from start to commit: it must be short,
    and it cannot wait for anything but the database (it is synchronous).
    """
    return await _run(sessions, job, write=True)


async def _run(sessions: async_sessionmaker[AsyncSession], job: Job[_T], *, write: bool) -> _T:
    sync_engine = bound_engine(sessions).sync_engine
    lock = engine_write_lock(sync_engine) if write else None
    async with lock if lock is not None else nullcontext():
        try:
            return await greenlet_spawn(_checked_out, sync_engine, job, write, lock is not None)
        except DBAPIError as exc:  # one raised outside a statement (a checkout, say)
            raise_as_store_error(exc)


def _checked_out(sync_engine: Engine, job: Job[_T], write: bool, immediate: bool) -> _T:
    """In a greenlet on the loop: check a connection out, run the job on it, check it in."""
    dbapi_error = sync_engine.dialect.loaded_dbapi.Error
    try:
        proxied = sync_engine.raw_connection()
    except dbapi_error as exc:
        # The pool hands the driver's own error on (a database restarting refuses the
        # connection): wrapped as `Engine.connect` would, so it is reported as a StoreError.
        raise DBAPIError.instance(None, None, exc, dbapi_error) from exc
    driver = proxied.driver_connection
    if not isinstance(driver, ThreadedConnection):
        try:
            return _transact(
                Connection(sync_engine, connection=proxied), job, write=write, immediate=immediate
            )
        finally:
            proxied.close()
    on_thread = _OnThread(proxied)
    try:
        return await_(
            _settled(
                driver.call(
                    lambda raw: _transact(
                        Connection(sync_engine, connection=on_thread.bind(raw)),
                        job,
                        write=write,
                        immediate=immediate,
                    )
                )
            )
        )
    finally:
        if on_thread.is_valid:
            proxied.close()
        else:
            proxied.invalidate()  # a disconnect found on the thread: dropped, not pooled


def _transact(connection: Connection, job: Job[_T], *, write: bool, immediate: bool) -> _T:
    """Run `job` on `connection`, then commit (a write) or end the read; roll back on failure.

    The connection is not closed: the pooled connection under it is checked in by the caller
    (`_checked_out`), and a `Connection` holds nothing else."""
    try:
        if immediate:
            # SQLite's write lock now, before the job's first read (store/session.py).
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        result = job(connection)
        if write:
            connection.commit()
        else:
            connection.rollback()
        return result
    except BaseException:
        connection.rollback()
        raise


async def _settled(future: asyncio.Future[_T]) -> _T:
    """The job's outcome; when the awaiting task is cancelled, still wait for the job to end
    (its connection, and a writer's lock, are given back only then), and then be cancelled."""
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        with anyio.CancelScope(shield=True):
            await asyncio.wait([future])
        if not future.cancelled():
            future.exception()  # retrieved: the cancellation is what the caller gets
        raise


class _OnThread(PoolProxiedConnection):
    """The checked-out connection as a job on SQLite's thread uses it: the sqlite3 connection
    itself, no trip. Closing it gives nothing back (the loop checks the connection in once the
    job is done); a disconnect found there is passed on to the pool by the loop."""

    __slots__ = ("_proxied", "_raw", "_valid", "dbapi_connection", "driver_connection")

    def __init__(self, proxied: PoolProxiedConnection) -> None:
        self._proxied = proxied
        self._raw: sqlite3.Connection | None = None
        self._valid = True

    def bind(self, raw: sqlite3.Connection) -> _OnThread:
        """Use `raw`, the sqlite3 connection (on its thread)."""
        self._raw = self.driver_connection = raw
        # sqlite3's connection is a DBAPI connection; typeshed and SQLAlchemy spell it apart.
        self.dbapi_connection = cast(Any, raw)
        return self

    @property
    def connection(self) -> Any:  # Any: SQLAlchemy's DBAPIConnection protocol
        return self._raw

    @property
    def is_valid(self) -> bool:
        return self._valid

    @property
    def is_detached(self) -> bool:
        return False

    @property
    def info(self) -> dict[Any, Any]:
        return self._proxied.info

    @property
    def record_info(self) -> dict[Any, Any] | None:
        return self._proxied.record_info

    def invalidate(self, e: BaseException | None = None, soft: bool = False) -> None:
        self._valid = False

    def detach(self) -> None:
        raise NotImplementedError("a job's connection stays in the pool")

    def close(self) -> None:
        pass

    def cursor(self, *args: Any, **kwargs: Any) -> Any:  # Any: SQLAlchemy's DBAPICursor
        return self._open().cursor(*args, **kwargs)

    def commit(self) -> None:
        self._open().commit()

    def rollback(self) -> None:
        self._open().rollback()

    def _open(self) -> sqlite3.Connection:
        if self._raw is None:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        return self._raw
