"""SQLite on a thread of its own, with one hand-off per statement.

SQLAlchemy's `aiosqlite` dialect drives a driver connection with aiosqlite's interface. aiosqlite
runs each step of a statement on its thread separately: make a cursor, execute, fetch the rows,
close the cursor, four round trips between the event loop and the thread, each a queue put, a
thread wake-up and a `call_soon_threadsafe` back. A chat turn sends about twenty statements, so
those hand-offs were a large share of the host's CPU (docs/performance.md).

`ThreadedConnection` keeps SQLite off the event loop's thread (its C work overlaps with the loop,
which running SQLite inline on the loop gave up: measured slower) but runs a whole statement,
rows and all, in one hand-off. Rows are always fetched in full, as SQLAlchemy's default
(buffered) cursor does anyway; a server-side cursor reads the same buffer.

Only what the dialect calls is here: `cursor()`, `commit()`, `rollback()`, `close()`, `stop()`,
`create_function()` and `isolation_level`; and `call()`, which runs a whole batch of statements
in one trip (`store/jobs.py`). Errors are sqlite3's own, which is what the dialect's
DBAPI names (aiosqlite re-exports them); a closed connection raises the `ValueError` the dialect
maps to a disconnect.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from queue import SimpleQueue
from typing import Any, TypeVar

_T = TypeVar("_T")
# The dialect turns this message into an OperationalError it reads as a disconnect.
_CLOSED = "Connection closed"

# A statement and the future its outcome goes to (None: nobody waits); None alone ends the thread.
_Job = tuple[asyncio.Future[Any] | None, Callable[[], Any]] | None


_Settle = Callable[[asyncio.Future[Any], Any, "BaseException | None"], None]


def _serve(jobs: SimpleQueue[_Job], settle: _Settle) -> None:
    """The connection's thread: run each job, hand its outcome back to the job's loop."""
    while (job := jobs.get()) is not None:
        future, function = job
        try:
            result = function()
        except BaseException as error:  # every failure goes back to the caller
            if future is not None:
                future.get_loop().call_soon_threadsafe(settle, future, None, error)
        else:
            if future is not None:
                future.get_loop().call_soon_threadsafe(settle, future, result, None)


class ThreadedConnection:
    """A sqlite3 connection used from asyncio, each call one trip to its own thread."""

    def __init__(self) -> None:
        self._jobs: SimpleQueue[_Job] = SimpleQueue()
        self._thread = threading.Thread(
            target=_serve, args=(self._jobs, self._settle), name="powerstrip-sqlite", daemon=True
        )
        # Jobs sent and not yet settled on the loop: while there are none, the connection's
        # transaction state can be read from the loop's thread without a trip.
        self._in_flight = 0
        # The dialect checks this attribute (aiosqlite's name) before commit and rollback.
        self._connection: sqlite3.Connection | None = None

    @classmethod
    async def connect(cls, database: str, **options: Any) -> ThreadedConnection:
        """Open `database` on a new thread; `options` go to `sqlite3.connect`."""
        connection = cls()
        connection._thread.start()
        # Attribute reads (`isolation_level`) come from the loop's thread.
        options["check_same_thread"] = False
        try:
            connection._connection = await connection._run(
                lambda: sqlite3.connect(database, **options)
            )
        except BaseException:
            connection._jobs.put(None)
            raise
        return connection

    def _run(self, function: Callable[[], _T]) -> asyncio.Future[_T]:
        future: asyncio.Future[_T] = asyncio.get_running_loop().create_future()
        self._in_flight += 1
        self._jobs.put((future, function))
        return future

    def _settle(
        self, future: asyncio.Future[Any], result: Any, error: BaseException | None
    ) -> None:
        """On the loop's thread: a job's outcome arrived."""
        self._in_flight -= 1
        if future.done():  # the awaiting task was cancelled; the statement still ran
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def _idle(self, connection: sqlite3.Connection) -> bool:
        """No job is under way and no transaction is open: commit and rollback have nothing to
        do. The pool rolls back every connection it gets back, mostly after a read."""
        return self._in_flight == 0 and not connection.in_transaction

    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError(_CLOSED)
        return self._connection

    def call(self, function: Callable[[sqlite3.Connection], _T]) -> asyncio.Future[_T]:
        """`function` of the sqlite3 connection, run on the connection's thread in one trip
        (a whole batch of statements: `store/jobs.py`)."""
        connection = self._open()
        return self._run(lambda: function(connection))

    def cursor(self) -> ThreadedCursor:
        return ThreadedCursor(self)

    @property
    def isolation_level(self) -> str | None:
        return self._open().isolation_level

    async def commit(self) -> None:
        connection = self._open()
        if not self._idle(connection):
            await self._run(connection.commit)

    async def rollback(self) -> None:
        connection = self._open()
        if not self._idle(connection):
            await self._run(connection.rollback)

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        connection = self._open()
        await self._run(lambda: connection.create_function(*args, **kwargs))

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await self._run(connection.close)
        finally:
            self._jobs.put(None)

    def stop(self) -> None:
        """Close without waiting (the pool's terminate): the thread closes it and ends."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        self._jobs.put((None, connection.close))
        self._jobs.put(None)


class ThreadedCursor:
    """A statement's outcome: it runs, rows and all, in one trip to the connection's thread."""

    arraysize = 1

    def __init__(self, connection: ThreadedConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []
        self._next = 0

    async def __aenter__(self) -> ThreadedCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def execute(self, operation: str, parameters: Any = None) -> ThreadedCursor:
        connection = self._connection._open()

        def run() -> tuple[Any, list[Any], int, int | None]:
            cursor = connection.cursor()
            try:
                if parameters is None:
                    cursor.execute(operation)
                else:
                    cursor.execute(operation, parameters)
                rows = cursor.fetchall() if cursor.description else []
                return cursor.description, rows, cursor.rowcount, cursor.lastrowid
            finally:
                cursor.close()

        self._take(await self._connection._run(run))
        return self

    async def executemany(self, operation: str, seq_of_parameters: Iterable[Any]) -> ThreadedCursor:
        connection = self._connection._open()

        def run() -> tuple[Any, list[Any], int, int | None]:
            cursor = connection.cursor()
            try:
                cursor.executemany(operation, seq_of_parameters)
                return cursor.description, [], cursor.rowcount, cursor.lastrowid
            finally:
                cursor.close()

        self._take(await self._connection._run(run))
        return self

    def _take(self, outcome: tuple[Any, list[Any], int, int | None]) -> None:
        self.description, self._rows, self.rowcount, self.lastrowid = outcome
        self._next = 0

    async def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        count = self.arraysize if size is None else size
        rows = self._rows[self._next : self._next + count]
        self._next += len(rows)
        return rows

    async def fetchall(self) -> Sequence[Any]:
        rows = self._rows[self._next :]
        self._next = len(self._rows)
        return rows

    async def close(self) -> None:
        self._rows = []
        self._next = 0
