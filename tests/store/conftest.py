"""Every store test runs on SQLite, and on PostgreSQL when one is given (tests/databases.py).

Each test gets its own empty SQLite file or its own PostgreSQL schema, migrated to head.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from powerstrip.store import create_engine, session_factory, upgrade
from tests.databases import backends, postgres_schema


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", backends())


@pytest.fixture
async def database_url(backend: str, tmp_path: Path) -> AsyncIterator[URL]:
    """An empty database of `backend`, not yet migrated."""
    if backend == "sqlite":
        yield make_url(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
        return
    async with postgres_schema() as url:
        yield url


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
