"""A Powerstrip server on loopback with a scripted model, driven by the official `openai` client.

`v1` is one server for the whole module (SQLite in a temporary directory, lexical document
search so no embedding model loads); `v1.client("ada")` is an `openai.OpenAI` client, unchanged,
with a new API token of that user as its key and `base_url` at the server's `/v1`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import openai
import pytest
from pydantic import TypeAdapter

from powerstrip.host import ensure_user, issue_token
from powerstrip.server import create_app
from powerstrip.server.v1.shapes import ANSWERS, PageOf
from powerstrip.settings import Settings
from powerstrip.store import create_engine, session_factory
from powerstrip.testing import LoopbackServer, ScriptedModelServer
from tests import secret_watch
from tests.databases import migrate
from tests.server.conftest import vault_key

__all__ = ["V1", "check_answer", "make_token"]


@cache
def _routes() -> list[tuple[str, re.Pattern[str], Any]]:  # Any: an openai type
    """Each documented answer's method, path pattern and type."""
    return [
        (method, re.compile(re.sub(r"\{[^/]+\}", "[^/]+", path) + "$"), shape)
        for (method, path), shape in ANSWERS.items()
    ]


def check_answer(response: Any) -> None:  # Any: the openai client's httpx response
    """A JSON 200 answer of `/v1` is valid as the `openai` type its schema names."""
    if response.status_code != 200 or not response.headers.get("content-type", "").startswith(
        "application/json"
    ):
        return
    path = response.request.url.path.split("/v1", 1)[-1]
    method = response.request.method.lower()
    shapes = [shape for m, pattern, shape in _routes() if m == method and pattern.match(path)]
    if not shapes:
        return
    response.read()
    body = response.json()
    shape = shapes[0]
    if isinstance(shape, PageOf):
        assert body["object"] == shape.kind, body
        assert not shape.paged or isinstance(body["has_more"], bool), body
        TypeAdapter(list[shape.item]).validate_python(body["data"])
    else:
        TypeAdapter(shape).validate_python(body)


async def make_token(settings: Settings, username: str, *, admin: bool = False) -> str:
    """A new API token of `username` (created when missing), watched by the secret scan."""
    engine = create_engine(settings.database_url)
    try:
        sessions = session_factory(engine)
        user = await ensure_user(sessions, username, admin=admin)
        token = await issue_token(sessions, user.id, "test")
    finally:
        await engine.dispose()
    secret_watch.watch(token)
    return token


@dataclass
class V1:
    """A running host, its scripted model, and official clients for its `/v1`."""

    server: LoopbackServer
    model: ScriptedModelServer
    settings: Settings
    clients: list[openai.OpenAI] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"{self.server.url}/v1"

    def token(self, username: str) -> str:
        return asyncio.run(make_token(self.settings, username))

    def client(
        self, username: str, *, api_key: str | None = None, base_url: str | None = None
    ) -> openai.OpenAI:
        """An official client with a new token of `username` (or `api_key`), closed with the
        module's server."""
        client = openai.OpenAI(
            base_url=base_url or self.base_url,
            api_key=api_key or self.token(username),
            max_retries=0,
            # Every JSON answer is checked against the type OpenAI's client reads it into.
            http_client=openai.DefaultHttpxClient(event_hooks={"response": [check_answer]}),
        )
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()


def serve_v1(tmp_path: Path, model: ScriptedModelServer, **changes: Any) -> LoopbackServer:
    fields: dict[str, Any] = {
        "data_dir": tmp_path,
        "vault_keys": vault_key(),
        "public_url": "http://127.0.0.1:8000",
        "model_base_url": model.base_url,
        "model_name": "scripted-model",
        "retrieval_embedder": "lexical",
    }
    settings = Settings(**(fields | changes))
    asyncio.run(migrate(settings.database_url))
    server = LoopbackServer(create_app(settings), lifespan=True)
    server.settings = settings  # type: ignore[attr-defined]
    return server


@pytest.fixture(scope="module")
def v1(tmp_path_factory: pytest.TempPathFactory) -> Iterator[V1]:
    with ScriptedModelServer() as model:
        server = serve_v1(tmp_path_factory.mktemp("v1"), model)
        with server:
            running = V1(server, model, server.settings)  # type: ignore[attr-defined]
            yield running
            running.close()
