"""Two users of `todo-user` never see each other's todos, even under concurrent requests."""

from __future__ import annotations

import asyncio
import ssl

import httpx
import pytest

from powerstrip.examples import ExampleConfig, issue_user_key
from tests.examples.conftest import ServeExample

pytestmark = pytest.mark.anyio

PER_USER = 50


async def test_interleaved_adds_land_in_their_own_lists(
    serve_example: ServeExample, config: ExampleConfig, tls: ssl.SSLContext
) -> None:
    server = serve_example("todo-user", config)
    headers = {
        user: {"authorization": f"Bearer {issue_user_key(config, user)}"}
        for user in ("alice", "bob")
    }
    async with httpx.AsyncClient(base_url=server.url, verify=tls) as client:

        async def add(user: str, n: int) -> httpx.Response:
            return await client.post("/todos", json={"todo": f"{user} {n}"}, headers=headers[user])

        answers = await asyncio.gather(
            *(add(user, n) for n in range(PER_USER) for user in ("alice", "bob"))
        )
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers if a.is_error]
        for user in ("alice", "bob"):
            listed = (await client.get("/todos", headers=headers[user])).json()["todos"]
            assert sorted(t["todo"] for t in listed) == sorted(
                f"{user} {n}" for n in range(PER_USER)
            )
