"""Retrieval tests run on SQLite, and on PostgreSQL when one is given (tests/databases.py).

The ONNX model loads once per session: loading takes about a second, embedding a few
sentences a few milliseconds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from powerstrip.retrieval import OnnxEmbedder, Retriever, Scope, packaged_model
from powerstrip.store import User, create_engine, session_factory, transaction, upgrade
from tests.conftest import ServeApp
from tests.databases import backends, migrate, postgres_schema


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
        await migrate(url)
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


class EmbeddingsServer:
    """An OpenAI-compatible /v1/embeddings endpoint: a vector per text from the text's hash."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_with: int | None = None
        self.app = Starlette(routes=[Route("/v1/embeddings", self.embeddings, methods=["POST"])])

    async def embeddings(self, request: Request) -> Response:
        body = json.loads(await request.body())
        self.requests.append({"body": body, "auth": request.headers.get("authorization")})
        if self.fail_with is not None:
            return JSONResponse({"error": {"message": "nope sk-secret"}}, self.fail_with)
        data = [
            {"object": "embedding", "index": i, "embedding": fake_vector(text)}
            for i, text in reversed(list(enumerate(body["input"])))  # out of order on purpose
        ]
        usage = {"prompt_tokens": 1, "total_tokens": 1}
        return JSONResponse(
            {"object": "list", "data": data, "model": body["model"], "usage": usage}
        )


def fake_vector(text: str) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [float(byte) - 128 for byte in digest[:8]]


@pytest.fixture
def endpoint(serve_app: ServeApp) -> tuple[EmbeddingsServer, str]:
    """A scripted embeddings endpoint on loopback, and its base URL."""
    server = EmbeddingsServer()
    loopback = serve_app(server.app, tls=False)
    return server, f"http://127.0.0.1:{loopback.port}/v1"
