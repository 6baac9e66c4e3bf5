"""The databases tests run on: SQLite always, PostgreSQL when one is given.

`POWERSTRIP_TEST_POSTGRES_URL` names a PostgreSQL database the tests may create schemas in
(`.ci/postgres.sh` starts a throwaway one). Under CI (`CI` set) the PostgreSQL variant always
runs, and fails when the URL is missing: a CI that silently skipped PostgreSQL would prove nothing.

`migrate(url)` is `upgrade(url)` for a test's own database: a new SQLite file is a copy of one
migrated once per test process, since running every migration for each of hundreds of host
tests was a measurable share of the suite. The migrations themselves are tested with
`upgrade` (tests/store/test_migrate.py).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from powerstrip.store import create_engine, upgrade
from tests import secret_watch

__all__ = ["POSTGRES_ENV", "backends", "migrate", "postgres_schema"]

POSTGRES_ENV = "POWERSTRIP_TEST_POSTGRES_URL"


def backends() -> list[str]:
    """The backends to run on, from the environment."""
    if os.environ.get(POSTGRES_ENV) or os.environ.get("CI"):
        return ["sqlite", "postgres"]
    return ["sqlite"]


@asynccontextmanager
async def postgres_schema() -> AsyncIterator[URL]:
    """A URL on a fresh, empty PostgreSQL schema, dropped afterwards."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.fail(
            f"CI is set but {POSTGRES_ENV} is not: run the suite through .ci/postgres.sh, "
            "which starts a throwaway PostgreSQL"
        )
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base)
    try:
        async with admin.begin() as connection:
            await connection.execute(text(f"CREATE SCHEMA {schema}"))
        # search_path makes the schema the default for tables, reflection and alembic_version.
        yield make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        # What an operator's backup of this database would hold, for the suite's secret scan.
        await anyio.to_thread.run_sync(secret_watch.dump_postgres, base, schema)
        async with admin.begin() as connection:
            await connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    finally:
        await admin.dispose()


_template: list[bytes] = []  # the migrated SQLite file's bytes, once per process


async def migrate(url: str | URL) -> None:
    """The database at `url` at the newest revision, as `upgrade` leaves it; a SQLite file
    that does not exist yet is written (owner-only, as the store creates it) from a template."""
    parsed = make_url(url)
    target = Path(parsed.database) if parsed.database else None
    if parsed.get_backend_name() != "sqlite" or target is None or target.exists():
        await upgrade(url)
        return
    if not _template:
        _template.append(await _migrated_bytes())
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(_template[0])


async def _migrated_bytes() -> bytes:
    folder = Path(tempfile.mkdtemp(prefix="powerstrip-template-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "template.db"
    await upgrade(f"sqlite+aiosqlite:///{path}")
    # Everything into the main file: a copy without its -wal file must hold every row.
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return path.read_bytes()
