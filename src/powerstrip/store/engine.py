"""Engines and sessions: SQLite (WAL, foreign keys on) by default, PostgreSQL by URL."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import StaticPool

from powerstrip.errors import ConfigError
from powerstrip.store.session import store_error
from powerstrip.store.sqlite_thread import ThreadedConnection

__all__ = ["create_engine", "display_url", "normalize_url", "session_factory"]

# The async driver Powerstrip uses for each database, and the URL spellings it accepts for it.
_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}
_ASYNC_DRIVERS = {"sqlite+aiosqlite", "postgresql+psycopg", "postgresql+asyncpg"}
_URL_FIX = (
    "set POWERSTRIP_DATABASE_URL to sqlite+aiosqlite:///PATH or "
    "postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE"
)
logger = logging.getLogger(__name__)

# How long a SQLite writer waits for another process's writer before giving up (writers of
# the same process queue in `transaction` instead, without a limit).
SQLITE_BUSY_TIMEOUT = 5.0

# PostgreSQL connections one process keeps open, and how many more it may open under a burst.
# A connection beyond the pool's size is closed when returned, so a pool smaller than the
# concurrent turns made nearly every checkout a new connection (a server backend and a SCRAM
# handshake each). bench/turns.py at 16 users: 2.3 -> 5.3 turns/s, host CPU 256 -> 41 ms a turn.
_PG_POOL_SIZE = 20
_PG_MAX_OVERFLOW = 20


def normalize_url(url: str | URL) -> URL:
    """The URL with Powerstrip's async driver filled in (`postgresql://` → `postgresql+psycopg`)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            "the database URL cannot be parsed", where="POWERSTRIP_DATABASE_URL", fix=_URL_FIX
        ) from None  # the message would echo the URL, password included
    name = parsed.drivername
    if name in _ASYNC_DRIVERS:
        return parsed
    backend = name.split("+", 1)[0]
    if backend == "postgres":  # Heroku-style spelling
        backend = "postgresql"
    if backend not in _DRIVERS:
        raise ConfigError(
            f"unsupported database {name!r}: Powerstrip runs on SQLite or PostgreSQL",
            where="POWERSTRIP_DATABASE_URL",
            fix=_URL_FIX,
        )
    return parsed.set(drivername=_DRIVERS[backend])


def display_url(url: str | URL) -> str:
    """The URL with its password masked, for logs and errors."""
    return make_url(url).render_as_string(hide_password=True)


def create_engine(
    url: str | URL, *, echo: bool = False, busy_timeout: float = SQLITE_BUSY_TIMEOUT
) -> AsyncEngine:
    """An async engine for `url`; SQLite gets WAL, foreign keys and a busy timeout on connect.

    `busy_timeout` (seconds, SQLite only) is how long a write waits for another process's
    writer. The directory of a SQLite file is created when missing. Dispose of the engine when
    done.
    """
    parsed = normalize_url(url)
    # hide_parameters: errors and echo logs never quote a row's values (secrets, user text).
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    is_sqlite = parsed.get_backend_name() == "sqlite"
    memory = is_sqlite and parsed.database in (None, "", ":memory:")
    if memory:
        # Each new connection to :memory: would be a new, empty database: share one.
        kwargs["poolclass"] = StaticPool
    elif is_sqlite and parsed.database:
        _private_sqlite_file(Path(parsed.database))
    else:
        kwargs["pool_pre_ping"] = True  # a server restart must not fail the next request
        kwargs["pool_size"] = _PG_POOL_SIZE
        kwargs["max_overflow"] = _PG_MAX_OVERFLOW
    if is_sqlite:
        kwargs["async_creator"] = _threaded_sqlite(parsed)
    engine = _create_async_engine(parsed, **kwargs)
    # Every refusal of the database, a read outside `transaction()` included, surfaces as a
    # StoreError that says what, where and how to fix it.
    event.listen(engine.sync_engine, "handle_error", _as_store_error)
    if is_sqlite:
        event.listen(
            engine.sync_engine,
            "connect",
            _sqlite_pragmas(wal=not memory, busy_ms=round(busy_timeout * 1000)),
        )
    return engine


def _threaded_sqlite(url: URL) -> Callable[[], Awaitable[ThreadedConnection]]:
    """Connections for the SQLite database at `url`, one statement per thread hand-off."""
    # The dialect's own reading of the URL: the file, `?mode=ro&uri=true`, timeouts.
    args, options = url.get_dialect()().create_connect_args(url)

    async def connect() -> ThreadedConnection:
        return await ThreadedConnection.connect(*args, **options)

    return connect


def _as_store_error(context: ExceptionContext) -> BaseException | None:
    if context.is_pre_ping:
        return None  # the pool's liveness probe: it reconnects on the raw error
    error = context.sqlalchemy_exception
    if not isinstance(error, DBAPIError):
        return None
    converted = store_error(error)
    if converted is error:
        return None
    # Safe to chain: engines hide statement parameters, so the cause quotes no values.
    converted.__cause__ = error
    return converted


def _private_sqlite_file(path: Path) -> None:
    """Create the database file (and its folder) readable by its owner only.

    The database holds sealed secrets, token digests and every conversation. SQLite creates a
    missing file with the process umask (0644 by default) and gives its `-wal` and `-shm`
    files the database file's mode, so creating the file 0600 first makes all three private.
    An existing file that others can read is narrowed, as the vault does with its key file.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # O_EXCL: an existing database is never truncated or re-created.
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            logger.warning("store.file_permissions path=%s mode=%o fixed_to=600", file, mode)
            file.chmod(0o600)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on `engine`; objects stay readable after commit (no lazy reload on access)."""
    return async_sessionmaker(engine, expire_on_commit=False)


# Any: SQLAlchemy's event signature is untyped.
def _sqlite_pragmas(*, wal: bool, busy_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            # Foreign keys are off by default in SQLite, per connection: ON DELETE CASCADE and
            # every reference would be silently ignored without this.
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
            # A deleted row (a document's text, a conversation, an account) is overwritten
            # with zeros, not left in free pages: "delete" must mean the file no longer holds
            # it (spec §9, docs/retrieval.md, docs/data.md).
            cursor.execute("PRAGMA secure_delete=ON")
            if wal:
                # WAL: readers never block the writer, and a crash cannot leave a torn page.
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    return on_connect
