"""The databases tests run on: SQLite always, PostgreSQL when one is given.

`POWERSTRIP_TEST_POSTGRES_URL` names a PostgreSQL database the tests may create schemas in
(`.ci/postgres.sh` starts a throwaway one). Under CI (`CI` set) the PostgreSQL variant always
runs, and fails when the URL is missing: a CI that silently skipped PostgreSQL would prove nothing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from powerstrip.store import create_engine
from tests import secret_watch

__all__ = ["POSTGRES_ENV", "backends", "postgres_schema"]

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
