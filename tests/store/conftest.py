"""Every store test runs on SQLite, and on PostgreSQL when one is given.

`POWERSTRIP_TEST_POSTGRES_URL` names a PostgreSQL database the tests may create schemas in
(`.ci/postgres.sh` starts a throwaway one). Under CI (`CI` set) the PostgreSQL variant always
runs, and fails when the URL is missing: a CI that silently skipped PostgreSQL would prove nothing.
Each test gets its own empty SQLite file or its own PostgreSQL schema, migrated to head.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from powerstrip.store import create_engine, session_factory, upgrade

POSTGRES_ENV = "POWERSTRIP_TEST_POSTGRES_URL"


def backends() -> list[str]:
    """The backends the store tests run on, from the environment."""
    if os.environ.get(POSTGRES_ENV) or os.environ.get("CI"):
        return ["sqlite", "postgres"]
    return ["sqlite"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", backends())


@pytest.fixture
async def database_url(backend: str, tmp_path: Path) -> AsyncIterator[URL]:
    """An empty database of `backend`, not yet migrated."""
    if backend == "sqlite":
        yield make_url(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
        return
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
        async with admin.begin() as connection:
            await connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    finally:
        await admin.dispose()


@pytest.fixture
async def engine(database_url: URL) -> AsyncIterator[AsyncEngine]:
    """An engine on a database migrated to the newest revision."""
    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on the migrated test database."""
    return session_factory(engine)
