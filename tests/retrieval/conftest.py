"""Retrieval tests run on SQLite, and on PostgreSQL when one is given (tests/databases.py).

The ONNX model loads once per session: loading takes about a second, embedding a few
sentences a few milliseconds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.retrieval import OnnxEmbedder, Retriever, Scope, packaged_model
from powerstrip.store import User, create_engine, session_factory, transaction, upgrade
from tests.databases import backends, postgres_schema


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", backends())


@pytest.fixture(scope="session")
def embedder() -> OnnxEmbedder:
    """The built-in local embedding model, loaded once."""
    return OnnxEmbedder(packaged_model())


@pytest.fixture
async def sessions(backend: str, tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on an empty, migrated database of `backend`."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
        await upgrade(url)
        engine = create_engine(url)
        try:
            yield session_factory(engine)
        finally:
            await engine.dispose()
        return
    async with postgres_schema() as pg_url:
        await upgrade(pg_url)
        engine = create_engine(pg_url)
        try:
            yield session_factory(engine)
        finally:
            await engine.dispose()


@pytest.fixture
async def users(sessions: async_sessionmaker[AsyncSession]) -> tuple[Scope, Scope]:
    """Two users' default collections: ada's and bob's."""
    async with transaction(sessions) as session:
        ada, bob = User(username="ada"), User(username="bob")
        session.add_all([ada, bob])
        await session.flush()
        return Scope(ada.id), Scope(bob.id)


@pytest.fixture
def retriever(sessions: async_sessionmaker[AsyncSession], embedder: OnnxEmbedder) -> Retriever:
    """A hybrid retriever with the local model; a small chunk budget so tests see chunking."""
    return Retriever(sessions, embedder, chunk_tokens=60, chunk_overlap=10, max_file_bytes=50_000)
